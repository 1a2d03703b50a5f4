"""The gateway's OpenAPI document: its routes and the error bodies it answers (Racetrack Pub's shapes)."""

from __future__ import annotations

from typing import Any

from racetrack import __version__
from racetrack.protocol import AUTH_HEADER, PUB_PREFIXES

JOB_PREFIX, FATMAN_PREFIX = PUB_PREFIXES

ERROR = {
    "type": "object",
    "required": ["error", "requestId"],
    "properties": {
        "error": {"type": "string", "example": "Proxy request error: Unauthenticated: ..."},
        "requestId": {"type": "string", "description": "the call's X-Request-Tracing-Id"},
    },
}
JOB_ERROR = {
    "allOf": [
        {"$ref": "#/components/schemas/Error"},
        {
            "type": "object",
            "properties": {
                "jobName": {"type": "string"},
                "jobVersion": {"type": "string"},
                "jobStatus": {"type": "string"},
                "caller": {"type": ["string", "null"]},
            },
        },
    ]
}
TASK = {
    "type": "object",
    "required": ["task_id", "status"],
    "properties": {
        "task_id": {"type": "string", "format": "uuid"},
        "status": {"enum": ["ongoing", "completed", "failed", "cancelled"]},
    },
}


def _error(description: str, schema: str = "Error") -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def _params(*names: str) -> list[dict[str, Any]]:
    return [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in names]


AUTH_ERRORS = {
    "401": _error("no token, a bad token, or a token lacking call_job (the message names the permission)"),
    "404": _error("no such job or version (`Proxy request error: Job was not found: ...`)"),
    "503": _error("the control plane cannot be reached to authorize the call"),
}


def openapi_document() -> dict[str, Any]:
    call = {
        "summary": "Call a job (any method; body and answer streamed)",
        "parameters": _params("name", "version", "path"),
        "responses": {
            "default": {"description": "the job's own answer, relayed as it comes"},
            **AUTH_ERRORS,
            "502": _error("no replica of the job answered", "JobError"),
            "504": _error("the job did not start answering within the gateway's timeout", "JobError"),
        },
    }
    methods: dict[str, dict[str, Any]] = {
        m: {**call, "operationId": f"call_job_{m}"} for m in ("get", "post", "put", "patch", "delete")
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "racetrack gateway (/pub)", "version": __version__},
        "components": {
            "schemas": {"Error": ERROR, "JobError": JOB_ERROR, "Task": TASK},
            "securitySchemes": {
                "RacetrackAuth": {"type": "apiKey", "in": "header", "name": AUTH_HEADER}
            },
        },
        "security": [{"RacetrackAuth": []}],
        "paths": {
            f"{JOB_PREFIX}/{{name}}/{{version}}/{{path}}": methods,
            f"{FATMAN_PREFIX}/{{name}}/{{version}}/{{path}}": {
                m: {**op, "operationId": op["operationId"] + "_fatman"} for m, op in methods.items()
            },
            "/pub/async/new/job/{name}/{version}/{path}": {
                "post": {
                    "operationId": "submit_async_call",
                    "parameters": _params("name", "version", "path"),
                    "responses": {
                        "201": {
                            "description": "task accepted",
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/Task"}}
                            },
                        },
                        "413": _error("body too large for an async call"),
                        **AUTH_ERRORS,
                    },
                }
            },
            "/pub/async/task/{id}/poll": {
                "get": {
                    "operationId": "poll_async_task",
                    "parameters": _params("id"),
                    "responses": {
                        "200": {"description": "done: the job's own status, body and content type"},
                        "202": {"description": "still running: poll again"},
                        "404": _error("no such task for this caller"),
                        "410": _error("the task was cancelled"),
                        "500": _error("the task failed (no replica answered, timeout, result too large)"),
                    },
                }
            },
            "/pub/async/task/{id}/status": {
                "get": {
                    "operationId": "async_task_status",
                    "parameters": _params("id"),
                    "responses": {
                        "200": {"description": "task state, attempts and note"},
                        "404": _error("no such task for this caller"),
                    },
                }
            },
            "/pub/async/task/{id}": {
                "delete": {
                    "operationId": "cancel_async_task",
                    "parameters": _params("id"),
                    "responses": {
                        "200": {"description": "cancelled (or, when finished, deleted)"},
                        "404": _error("no such task for this caller"),
                    },
                }
            },
            "/pub/live": {
                "get": {"operationId": "live", "security": [], "responses": {"200": {"description": "up"}}}
            },
            "/pub/ready": {
                "get": {
                    "operationId": "ready",
                    "security": [],
                    "responses": {"200": {"description": "ready"}},
                }
            },
            "/pub/health": {
                "get": {
                    "operationId": "health",
                    "security": [],
                    "responses": {
                        "200": {"description": "database connected"},
                        "503": {"description": "database unreachable"},
                    },
                }
            },
            "/pub/metrics": {
                "get": {
                    "operationId": "metrics",
                    "security": [],
                    "responses": {"200": {"description": "Prometheus text"}},
                }
            },
        },
    }
