"""Benchmarks: each measures one workload against a baseline in the same process."""
