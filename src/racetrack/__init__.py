"""racetrack: turn a Python class with perform() into a production HTTP job."""

__version__ = "0.1.0"
