"""Sales with their prices: by day, channel and category (``GET /api/v1/sales``)."""
