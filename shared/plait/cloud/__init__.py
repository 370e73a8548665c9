"""plait's adapters for Google Cloud services (storage; messaging comes later)."""
