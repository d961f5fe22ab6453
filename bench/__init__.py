"""Rerunnable benchmarks: `make bench` prints figures and their ratio to the ceiling of the stack."""
