"""`JobEntrypoint`: the optional base class of a Racetrack job (every method but `perform` is optional)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any


class JobEntrypoint(ABC):
    """Subclassing it is optional: the wrapper looks the methods up by name. Unlike Racetrack's, it defines
    no `auxiliary_endpoints()`, so a subclass may use `auxiliary_endpoints_v2()`."""

    @abstractmethod
    def perform(self, *args: Any, **kwargs: Any) -> Any:
        """The job's main call (`POST /api/v1/perform`)."""
