"""Shelves: the planogram (which product sits in which lane) and what the sensors say."""
