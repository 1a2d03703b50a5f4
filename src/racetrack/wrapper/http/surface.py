"""A loaded job's HTTP surface: what its entrypoint declares, plus its webview, v2 routes and OpenAPI."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from racetrack.protocol import API_PREFIX
from racetrack.wrapper.contract.encoding import encode_json
from racetrack.wrapper.contract.job import Routes, read_declared, user_call
from racetrack.wrapper.contract.loader import (
    LoadError,
    error_from_exception,
    instantiate,
    load_entrypoint_class,
)
from racetrack.wrapper.contract.openapi import JobInfo, build_openapi
from racetrack.wrapper.contract.paths import WEBVIEW_PATH
from racetrack.wrapper.contract.signatures import Endpoint
from racetrack.wrapper.contract.statics import StaticEndpoint
from racetrack.wrapper.http.endpoints_v2 import EndpointsV2, build_endpoints_v2
from racetrack.wrapper.http.webview import Webview, build_webview
from racetrack.wrapper.settings import JobSettings

logger = logging.getLogger("racetrack.wrapper")


@dataclass
class Job:
    """The entrypoint instance and what derives from it (endpoints, statics, webview, docs, v2 routes)."""

    entrypoint: object
    endpoints: list[Endpoint]
    statics: list[StaticEndpoint]
    webview: Webview | None
    openapi: dict[str, Any]
    parameters_json: bytes
    initialized: bool = True  # False: derived from an instance whose __init__ has not run
    endpoints_v2: EndpointsV2 | None = None  # auxiliary_endpoints_v2(), served in the server process

    @property
    def routes(self) -> Routes:
        return Routes.of((e.path for e in self.endpoints), (s.path for s in self.statics))


def load_job(settings: JobSettings, *, calls_run_here: bool = True) -> Job:
    """Import and instantiate the entrypoint, then derive its HTTP surface; problems raise LoadError.

    With `calls_run_here=False` (worker processes run the calls) the surface is read from an instance whose
    `__init__` has not run, so a model loaded there is not loaded in this process too; a class that needs
    its `__init__` for that (or defines `webview_app`, served here) is instantiated as usual.
    """
    root = settings.root
    entrypoint_class = load_entrypoint_class(
        settings.entrypoint_file, settings.entrypoint_class, root, settings.manifest_file
    )
    if not calls_run_here:
        if getattr(entrypoint_class, "webview_app", None) is not None:
            reason = "it defines webview_app(), which the server process serves"
        elif getattr(entrypoint_class, "auxiliary_endpoints_v2", None) is not None:
            reason = "it defines auxiliary_endpoints_v2(), which the server process serves"
        else:
            try:
                return _derive_job(entrypoint_class.__new__(entrypoint_class), settings, initialized=False)
            except Exception as exc:
                failure = exc if isinstance(exc, LoadError) else f"{type(exc).__name__}: {exc}"
                reason = f"{failure} on an instance whose __init__ has not run"
        logger.info(
            "the server process instantiates the entrypoint because %s; a model loaded in __init__ is in "
            "memory N+1 times (jobtype_extra.workers = N = %d)",
            reason,
            settings.runtime.workers,
        )
    return _derive_job(instantiate(entrypoint_class, root), settings)


def _derive_job(entrypoint: object, settings: JobSettings, *, initialized: bool = True) -> Job:
    """The endpoints, statics, webview and docs of an entrypoint instance."""
    root = settings.root
    declared = read_declared(entrypoint, root)
    endpoints, statics = declared.endpoints, declared.statics
    try:
        webview = build_webview(entrypoint, settings.public_prefix + API_PREFIX + WEBVIEW_PATH, root)
    except Exception as exc:
        raise error_from_exception("webview_app() failed", exc, root) from exc
    info = JobInfo(settings.name, settings.version, endpoints[0].docs.description)
    document = build_openapi(info, endpoints, statics, webview is not None)
    endpoints_v2 = _endpoints_v2(entrypoint, settings, document)
    return Job(
        entrypoint=entrypoint,
        endpoints=endpoints,
        statics=statics,
        webview=webview,
        openapi=document,
        parameters_json=encode_json([parameter.as_json() for parameter in endpoints[0].parameters]),
        initialized=initialized,
        endpoints_v2=endpoints_v2,
    )


def _endpoints_v2(entrypoint: object, settings: JobSettings, document: dict[str, Any]) -> EndpointsV2 | None:
    """The routes of `auxiliary_endpoints_v2()` if the entrypoint has it, their docs added to `document`."""
    if getattr(entrypoint, "auxiliary_endpoints_v2", None) is None:
        return None
    root = settings.root
    configs = user_call(entrypoint, "auxiliary_endpoints_v2", root, [])
    try:
        endpoints_v2 = build_endpoints_v2(configs, settings.name, settings.version)
        paths, schemas = endpoints_v2.openapi_paths()
    except LoadError:
        raise
    except Exception as exc:
        raise error_from_exception("auxiliary_endpoints_v2() cannot be served", exc, root) from exc
    document["paths"].update(paths)
    document["components"]["schemas"].update(schemas)
    return endpoints_v2
