"""The job wrapper: runs inside the job image and serves the entrypoint (`python -m racetrack.wrapper run`).

Its parts, each importing only those after it (outside the wrapper, only racetrack.manifest and
racetrack.protocol are imported):
- `http`: the HTTP edge: the ASGI app and its routes, uvicorn and connection limits, body limits, error
  responses, streaming, static files, the webview, EndpointConfig (v2) routes, the gateway guard;
  `http.surface` loads the job and assembles its HTTP surface (webview, v2 routes, OpenAPI) from the contract;
- `runtime`: the call runtime: admission and dispatch, the thread pool, worker processes, graceful shutdown;
- `contract`: the job contract, what a job declares: loading the entrypoint, method signatures, docstrings,
  static endpoints and reserved paths, OpenAPI, encoding; it imports neither `http` nor `runtime`;
- `telemetry`: Prometheus metrics, logging and request ids;
- here: the command line (`__main__`, `flags`), `settings`, the shared `errors` and `local` (run-local).
"""
