"""The HTTP edge: the ASGI app, its routes and limits, error responses, streaming, statics, webview."""
