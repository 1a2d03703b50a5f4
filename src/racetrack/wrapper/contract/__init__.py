"""The job contract: load the entrypoint, read what it declares (signatures, docs, statics), OpenAPI."""
