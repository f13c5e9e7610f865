"""Verity's benchmarks (`make bench`; see docs/PERFORMANCE.md)."""
