"""The webshop clickstream: cookieless collection, visits and privacy."""
