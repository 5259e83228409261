"""Bench-only adapters: engines measured beside ours, never imported by the product."""
