"""Suppliers, their offers (purchase price, availability, lead time) and their feed imports."""
