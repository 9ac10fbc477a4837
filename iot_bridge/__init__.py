"""MQTT bridge for shelf devices — not built yet; see the shelf-sensors issue."""
