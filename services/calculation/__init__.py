"""The calculation service."""
