"""The HTTP edge: the job's assembled surface, the ASGI app, its routes and limits, errors, streaming."""
