"""Helpers every service can use without writing its own schema."""
