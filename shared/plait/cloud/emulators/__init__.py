"""Stand-ins for Google Cloud services, for the local stack and tests."""
