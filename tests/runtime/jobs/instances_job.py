"""Entrypoint classes that note each `__init__` run (the pid, one line in the file named by INIT_LOG)."""

import os
from pathlib import Path


def note_init() -> None:
    with Path(os.environ["INIT_LOG"]).open("a") as log:
        log.write(f"{os.getpid()}\n")


class LightSurface:
    """Endpoints, statics and examples that need nothing from `__init__`."""

    def __init__(self):
        note_init()
        self.model = {"scale": 10}

    def perform(self, x: int) -> int:
        """Scale x by the model's factor."""
        return x * self.model["scale"]

    def explain(self, x: int) -> dict:
        """Say which process scaled x."""
        return {"scaled": self.perform(x), "pid": os.getpid()}

    def auxiliary_endpoints(self) -> dict:
        return {"/explain": self.explain}

    def static_endpoints(self) -> dict:
        return {"/source": "instances_job.py"}

    def docs_input_example(self) -> dict:
        return {"x": 3}


class StatefulEndpoints:
    """`auxiliary_endpoints()` reads state set in `__init__`."""

    def __init__(self):
        note_init()
        self.explainer = self.explain

    def perform(self, x: int) -> int:
        return x + 1

    def explain(self, x: int) -> str:
        return f"x + 1 = {self.perform(x)}"

    def auxiliary_endpoints(self) -> dict:
        return {"/explain": self.explainer}


class WithWebview:
    """A WSGI webview showing state set in `__init__`."""

    def __init__(self):
        note_init()
        self.greeting = f"hello from {os.getpid()}"

    def perform(self) -> int:
        return os.getpid()

    def webview_app(self, base_url: str):
        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [self.greeting.encode()]

        return app


class BrokenInit:
    def __init__(self):
        raise RuntimeError("the model file is missing")

    def perform(self) -> int:
        return 0


class InitEnablesEndpoints:
    """`__init__` turns on an auxiliary endpoint that the class-level default leaves off."""

    enabled = False

    def __init__(self):
        note_init()
        self.enabled = True

    def perform(self) -> int:
        return 0

    def always(self) -> int:
        return 1

    def optional(self) -> int:
        return 2

    def auxiliary_endpoints(self) -> dict:
        return {"/always": self.always, **({"/optional": self.optional} if self.enabled else {})}
