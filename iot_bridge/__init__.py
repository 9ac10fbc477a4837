"""The MQTT bridge for shelf devices and sellers' tablets (docs/iot.md)."""
