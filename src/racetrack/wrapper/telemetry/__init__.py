"""Prometheus metrics, logging with request ids, and the request id itself."""
