"""Recommendation models for the shop: a library (arrays in, fitted model out).

No Flask and no database here: ``store_api`` builds :class:`TrainingData` from the shop's
orders, committed reservations and clickstream, fits a :class:`ShopModel`, saves it with
joblib, and serves it.
"""
