"""The catalog: products the shop sells, found by sellers and read by the webshop."""
