"""The disbursement service."""
