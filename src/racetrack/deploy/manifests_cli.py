"""`racetrack manifests [DIR] --target kubernetes`: print the objects a deploy would apply, as YAML."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml


class _Dumper(yaml.SafeDumper):
    """Plain YAML: no &anchors for repeated mappings, multi-line strings as blocks."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def manifests_yaml(objects: list[dict[str, Any]]) -> str:
    return yaml.dump_all(objects, Dumper=_Dumper, sort_keys=False, default_flow_style=False)


def manifests(
    path: Annotated[Path, typer.Argument(help="Job directory (holding fatman.yaml) or a manifest file.")] = (
        Path(".")
    ),
    extra: Annotated[
        list[str] | None, typer.Option("--extra", "-e", help="Override a manifest field: -e key.path=value.")
    ] = None,
    target: Annotated[str, typer.Option("--target", help="Target: kubernetes.")] = "kubernetes",
    namespace: Annotated[str, typer.Option("--namespace", "-n", help="Kubernetes namespace.")] = "default",
    image: Annotated[
        str | None,
        typer.Option(
            "--image",
            help="Image reference (default: racetrack/NAME:VERSION; `racetrack build` prints the tag).",
        ),
    ] = None,
    show_secrets: Annotated[
        bool, typer.Option("--show-secrets", help="Print the Secret's real values (hidden by default).")
    ] = False,
) -> None:
    """Print the Kubernetes objects (Secret, Deployment, Service) a deploy of the job would apply."""
    from racetrack.cli import fail, load_job_manifest, report_problems
    from racetrack.deploy.kubernetes.objects import job_objects
    from racetrack.deploy.quantities import QuantityError
    from racetrack.manifest import ManifestError, secret_runtime_env

    if target != "kubernetes":
        raise fail(f"--target {target!r}: only 'kubernetes' has manifests to print")
    manifest = load_job_manifest(path, extra)
    try:
        secrets = secret_runtime_env(manifest)
    except ManifestError as error:
        raise report_problems(error.problems, "the secret env files") from None
    if image is None:
        image = f"racetrack/{manifest.name.lower()}:{manifest.version}"
        print(f"note: image {image}; pass --image for the one you pushed", file=sys.stderr)
    try:
        objects = job_objects(manifest, image, secret_env=secrets, namespace=namespace,
                              show_secrets=show_secrets)
    except QuantityError as error:
        raise fail(f"{manifest.path}: {error}") from None
    sys.stdout.write(manifests_yaml(objects))
