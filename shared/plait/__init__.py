"""plait: turn a scientist's analysis into a data service on Google Cloud.

Importing ``plait`` is deliberately cheap: cloud clients are imported lazily, at first use.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
