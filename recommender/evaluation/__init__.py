"""Offline evaluation: full-catalogue ranking on time-based splits of real public data.

Entry point: ``python -m recommender evaluate uci|yoochoose|all`` (see :mod:`.cli`).
"""
