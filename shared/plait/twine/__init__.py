"""Twines: the one place a service's data interface is loaded and validated.

``Twine(source)`` reads a twine (a path, JSON text, a dict or a Twine), validates it against the
bundled ``schemas/twine.json``, compiles its schemas once, and then checks values, monitor
messages, manifests, credentials and children against it. Imports ``jsonschema``; never a
google-cloud library.
"""

from plait.twine.twine import (
    DESCRIPTIVE_KEYS,
    MANIFEST_STRANDS,
    SCHEMA_STRANDS,
    STRAND_NAMES,
    VALUES_STRANDS,
    Twine,
    load_bundled_schema,
    load_values,
)
from plait.twine.validators import SchemaValidator

__all__ = [
    "DESCRIPTIVE_KEYS",
    "MANIFEST_STRANDS",
    "SCHEMA_STRANDS",
    "STRAND_NAMES",
    "VALUES_STRANDS",
    "SchemaValidator",
    "Twine",
    "load_bundled_schema",
    "load_values",
]
