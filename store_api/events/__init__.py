"""The transactional outbox: every change writes its events in the same transaction."""
