"""Source (git clone or local directory) -> build context -> Docker image of the job."""

from racetrack.builder.builder import BuiltImage, build_image
from racetrack.builder.engine import BuildError, EngineUnavailable, connect

__all__ = ["BuildError", "BuiltImage", "EngineUnavailable", "build_image", "connect"]
