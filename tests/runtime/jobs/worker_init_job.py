"""A job whose __init__ in worker processes (not in the server process) waits for a file, or fails."""

import multiprocessing
import os
import pathlib
import time


class WorkerInitJob:
    def __init__(self):
        if multiprocessing.parent_process() is None:
            return  # the server process builds its instance at once
        if os.environ.get("WORKER_INIT") == "fail":
            raise RuntimeError("no model file in this worker")
        while not pathlib.Path(os.environ["WORKER_RELEASE"]).exists():
            time.sleep(0.05)

    def perform(self) -> int:
        return os.getpid()
