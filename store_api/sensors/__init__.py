"""Shelf, zone and door sensors: devices, their events, sequence gaps and dead letters."""
