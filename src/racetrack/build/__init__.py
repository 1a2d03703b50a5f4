"""Source (git clone or local directory) -> build context -> Docker image of the job."""

from racetrack.build.builder import BuiltImage, build_image
from racetrack.build.engine import BuildError, EngineUnavailable, connect

__all__ = ["BuildError", "BuiltImage", "EngineUnavailable", "build_image", "connect"]
