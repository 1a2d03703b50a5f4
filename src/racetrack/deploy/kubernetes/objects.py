"""The Kubernetes objects of a job version, as plain dicts: what the target applies and `racetrack manifests`
prints. Runtime secrets appear in the Secret only; the pods load them from its volume."""

from __future__ import annotations

import base64
import copy
import math
import re
from typing import Any

from racetrack.deploy.deployer import STOP_GRACE_MARGIN, job_environment, job_labels
from racetrack.deploy.envfile import JOB_UID, env_file_text
from racetrack.deploy.naming import dns_name
from racetrack.deploy.quantities import docker_resources
from racetrack.deploy.registry import DEPLOYMENT_LABEL, NAME_LABEL, VERSION_LABEL
from racetrack.manifest import Manifest
from racetrack.protocol import JOB_PORT

SECRET_DIR = "/var/run/racetrack"
SECRET_KEY = "secret.env"
SECRET_PATH = f"{SECRET_DIR}/{SECRET_KEY}"
ID_LABEL = "racetrack.job.id"  # the selector: one job version
PRE_STOP_SECONDS = 5  # endpoints drop a terminating pod before the job stops taking calls
HIDDEN = "# secret values hidden; `racetrack manifests --show-secrets` prints them\n"
_LABEL_VALUE = re.compile(r"[^A-Za-z0-9_.-]+")


def label_value(text: str) -> str:
    """`text` as a Kubernetes label value (at most 63 of [A-Za-z0-9_.-], alphanumeric at both ends)."""
    return _LABEL_VALUE.sub("_", text)[:63].strip("_.-")


def job_objects(
    manifest: Manifest,
    image: str,
    commit: str = "",
    secret_env: dict[str, str] | None = None,
    extra_env: dict[str, str] | None = None,
    namespace: str = "default",
    timeout: float = 300,
    show_secrets: bool = True,
) -> list[dict[str, Any]]:
    """[Secret (when there are runtime secrets), Deployment, Service] of `manifest`'s job running `image`."""
    secret_env = secret_env or {}
    name = dns_name(manifest.name, manifest.version)
    labels = {
        ID_LABEL: name,
        NAME_LABEL: label_value(manifest.name),
        VERSION_LABEL: label_value(manifest.version),
        DEPLOYMENT_LABEL: "kubernetes",
        "app.kubernetes.io/managed-by": "racetrack",
    }
    # the whole registry (exact name and version, owner, digest, commit, user labels) as annotations
    annotations = {**job_labels(manifest, commit, secret_env), DEPLOYMENT_LABEL: "kubernetes"}
    meta = {"name": name, "namespace": namespace, "labels": labels, "annotations": annotations}
    objects = [copy.deepcopy(item) for item in _objects(manifest, image, commit, secret_env, extra_env, meta,
                                                       show_secrets, timeout)]
    return objects


def _objects(
    manifest: Manifest, image: str, commit: str, secret_env: dict[str, str], extra_env: dict[str, str] | None,
    meta: dict[str, Any], show_secrets: bool, timeout: float,
) -> list[dict[str, Any]]:
    name = meta["name"]
    objects = []
    if secret_env:
        text = env_file_text(secret_env) if show_secrets else HIDDEN
        objects.append({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {**meta, "name": f"{name}-env"},
            "type": "Opaque",
            "data": {SECRET_KEY: base64.b64encode(text.encode()).decode()},
        })
    env = job_environment(manifest, commit, extra_env or {}, bool(secret_env), SECRET_PATH)
    objects.append(_deployment(manifest, image, meta, env, secret_env, timeout))
    objects.append({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {
            "type": "ClusterIP",
            "selector": {ID_LABEL: name},
            "ports": [{"name": "http", "port": JOB_PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    })
    return objects


def _deployment(
    manifest: Manifest, image: str, meta: dict[str, Any], env: dict[str, str], secrets: dict[str, str],
    timeout: float,
) -> dict[str, Any]:
    grace = math.ceil(manifest.python.shutdown_grace) + STOP_GRACE_MARGIN + PRE_STOP_SECONDS
    container: dict[str, Any] = {
        "name": "job",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": JOB_PORT, "protocol": "TCP"}],
        "env": [{"name": key, "value": value} for key, value in env.items()],
        "resources": kubernetes_resources(manifest),
        "startupProbe": _probe("/live", period=2, failures=max(1, math.ceil(timeout / 2))),
        "readinessProbe": _probe("/ready", period=2, failures=2),
        "livenessProbe": _probe("/live", period=10, failures=3),
        "lifecycle": {"preStop": {"exec": {"command": ["sleep", str(PRE_STOP_SECONDS)]}}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "runAsNonRoot": True,
        },
    }
    pod: dict[str, Any] = {
        "automountServiceAccountToken": False,
        "terminationGracePeriodSeconds": grace,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": JOB_UID,
            "runAsGroup": JOB_UID,
            "fsGroup": JOB_UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
    }
    if secrets:
        container["volumeMounts"] = [{"name": "secret-env", "mountPath": SECRET_DIR, "readOnly": True}]
        pod["volumes"] = [{
            "name": "secret-env",
            "secret": {"secretName": f"{meta['name']}-env", "defaultMode": 0o440},  # group: fsGroup
        }]
    selector = {ID_LABEL: meta["labels"][ID_LABEL]}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": manifest.replicas,
            "revisionHistoryLimit": 3,
            "selector": {"matchLabels": selector},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {"metadata": {"labels": meta["labels"]}, "spec": pod},
        },
    }


def _probe(path: str, period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": period,
        "timeoutSeconds": 2,
        "failureThreshold": failures,
    }


def kubernetes_resources(manifest: Manifest) -> dict[str, dict[str, str]]:
    """`resources` as requests (minima) and limits (maxima); checked as the docker target checks them."""
    resources = manifest.resources
    docker_resources(resources)
    requests = {"cpu": resources.cpu_min, "memory": resources.memory_min}
    limits = {"cpu": resources.cpu_max, "memory": resources.memory_max}
    found = {
        "requests": {key: str(value) for key, value in requests.items() if value is not None},
        "limits": {key: str(value) for key, value in limits.items() if value is not None},
    }
    return {key: value for key, value in found.items() if value}
