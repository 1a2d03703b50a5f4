"""A job reporting an environment variable: in this process, or in a worker process with --workers."""

import os


class EnvJob:
    def perform(self, name: str) -> str | None:
        """The value of environment variable `name` where the call runs."""
        return os.environ.get(name)
