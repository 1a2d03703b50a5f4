"""The job contract: load the entrypoint, read its signatures and docstrings, build OpenAPI, encode."""
