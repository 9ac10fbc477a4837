"""Customer reminders: planned from the shop's events, delivered through an outbox."""
