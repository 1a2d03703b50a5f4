"""The job manifest (job.yaml or fatman.yaml): find, load, validate, and read its secret env files."""

from racetrack.manifest.loader import MANIFEST_NAMES, find_manifest, load_manifest, manifest_digest
from racetrack.manifest.model import GitSource, Manifest, PythonSettings, Resources
from racetrack.manifest.notices import public_endpoint_warning
from racetrack.manifest.problems import ManifestError, Problem
from racetrack.manifest.secrets import MissingEnvFile, read_env_file, secret_build_env, secret_runtime_env

__all__ = [
    "MANIFEST_NAMES",
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
    "public_endpoint_warning",
    "read_env_file",
    "secret_build_env",
    "secret_runtime_env",
]
