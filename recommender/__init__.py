"""Recommendation models (scikit-learn estimators) — not built yet; see the recommendations issue.

This package will stay a library: arrays in, fitted model out, no Flask and no database.
"""
