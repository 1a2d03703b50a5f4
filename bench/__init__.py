"""Reproducible benchmarks of the racetrack wrapper and builder: `python -m bench --help`."""
