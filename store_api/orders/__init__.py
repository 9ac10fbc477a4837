"""Webshop orders: all lines or none, safe to retry with an Idempotency-Key."""
