"""A job with one endpoint per runtime behaviour: slow, CPU-bound, async, streaming, crashing."""

import asyncio
import logging
import os
import time
from pathlib import Path

log = logging.getLogger("runtime_job")


class RuntimeJob:
    def perform(self, seconds: float = 0.0) -> int:
        log.info("perform sleeping %s s", seconds)
        time.sleep(seconds)
        return os.getpid()

    def spin(self, seconds: float) -> int:
        """Burn CPU (holding the GIL) for `seconds`."""
        end = time.process_time() + seconds
        while time.process_time() < end:
            pass
        return os.getpid()

    async def nap(self, seconds: float, marker: str = "") -> str:
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            if marker:
                Path(marker).write_text("cancelled")
            raise
        return "rested"

    def count(self, n: int, fail_at: int = -1, pause: float = 0.0, marker: str = ""):
        try:
            for i in range(n):
                if i == fail_at:
                    raise ValueError(f"cannot count past {i}")
                time.sleep(pause)
                yield {"i": i}
        finally:
            if marker:
                Path(marker).write_text("closed")

    async def acount(self, n: int):
        for i in range(n):
            await asyncio.sleep(0)
            yield i

    def crash(self, code: int = 3) -> None:
        os._exit(code)

    def whoami(self) -> dict:
        """The current request as user code sees it (`self.request_context`), and the serving process."""
        request = self.request_context.get()
        return {
            "method": request.method,
            "url": str(request.url),
            "agent": request.headers.get("user-agent"),
            "query": dict(request.query_params),
            "client": request.client.host,
            "pid": os.getpid(),
        }

    def auxiliary_endpoints(self):
        return {
            "/spin": self.spin,
            "/nap": self.nap,
            "/count": self.count,
            "/acount": self.acount,
            "/crash": self.crash,
            "/whoami": self.whoami,
        }

    def metrics(self):
        return [{"name": "runtime_job_pid", "value": os.getpid()}]
