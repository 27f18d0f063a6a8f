"""Benchmarks for the marketplace: data generator, bid placement under load, task listing.

Run them with ``python -m bench`` (see bench/README.md).
"""
