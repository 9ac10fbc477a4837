"""Backups of the shop's database and their restore (``flask backup``, ``flask restore``)."""
