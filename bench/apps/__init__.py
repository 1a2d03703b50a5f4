"""The servers the benchmark measures: wrapper entrypoints and hand-written baselines doing the same work."""
