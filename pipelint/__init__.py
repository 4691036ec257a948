"""pipelint: find Redis round trips that could share one, and non-atomic sequences."""

__version__ = "0.1.0"
