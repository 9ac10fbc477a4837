"""API keys and roles: who is calling, and what they may do."""
