"""The four business services; each is its own app with its own database."""
