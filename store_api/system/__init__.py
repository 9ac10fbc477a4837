"""Liveness and identity endpoints."""
