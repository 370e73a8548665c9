"""Example services (each a directory with plait.yaml, twine.json and app.py), shipped as package data."""
