"""Customers: minimal contact details, consent per purpose, back-in-stock requests."""
