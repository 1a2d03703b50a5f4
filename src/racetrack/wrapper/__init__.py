"""The job wrapper: runs inside the job image and serves the entrypoint (`python -m racetrack.wrapper run`).

Its parts; the HTTP edge uses the call runtime, which uses the job contract (outside the wrapper, only
racetrack.manifest and racetrack.protocol are imported):
- `http`: the HTTP edge: the ASGI app and its routes, uvicorn and connection limits, body limits, error
  responses, streaming, static files, the webview, EndpointConfig (v2) routes, the gateway guard;
- `runtime`: the call runtime: admission and dispatch, the thread pool, worker processes, graceful shutdown;
- `contract`: the job contract: loading the entrypoint, method signatures, docstrings, OpenAPI, encoding;
  `contract.job` assembles the loaded job, its statics, webview and v2 routes built by `http`'s modules;
- `telemetry`: Prometheus metrics, logging and request ids;
- here: the command line (`__main__`, `flags`), `settings`, the shared `errors` and `local` (run-local).
"""
