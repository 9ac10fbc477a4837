"""Serving the recommender: suggestions for sellers and the webshop, in stock only."""
