"""The job manifest (fatman.yaml): find, load, validate, and read its secret env files."""

from racetrack.manifest.loader import find_manifest, load_manifest, manifest_digest
from racetrack.manifest.model import GitSource, Manifest, PythonSettings, Resources
from racetrack.manifest.problems import ManifestError, Problem
from racetrack.manifest.secrets import MissingEnvFile, read_env_file, secret_build_env, secret_runtime_env

__all__ = [
    "GitSource",
    "Manifest",
    "ManifestError",
    "MissingEnvFile",
    "Problem",
    "PythonSettings",
    "Resources",
    "find_manifest",
    "load_manifest",
    "manifest_digest",
    "read_env_file",
    "secret_build_env",
    "secret_runtime_env",
]
