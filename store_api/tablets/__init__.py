"""Seller tablets: pairing a device with a one-time code, listing and revoking them."""
