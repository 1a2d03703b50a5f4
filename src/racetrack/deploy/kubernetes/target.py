"""The kubernetes target: apply a job version's objects through the official client, wait for the rollout,
and read Deployments and pods back as the registry of what runs."""

from __future__ import annotations

import base64
import builtins
import time
from collections.abc import Callable, Iterator
from typing import Any

from racetrack.deploy.envfile import parse_env_text
from racetrack.deploy.errors import DeployError, StartFailed
from racetrack.deploy.kubernetes.objects import ID_LABEL, SECRET_KEY, job_objects
from racetrack.deploy.logs import redact
from racetrack.deploy.naming import dns_name
from racetrack.deploy.quantities import QuantityError
from racetrack.deploy.registry import COMMIT_LABEL, DEPLOYMENT_LABEL, NAME_LABEL, OWNER_LABEL, VERSION_LABEL
from racetrack.deploy.report import Reporter
from racetrack.deploy.target import ERROR, LOST, RUNNING, STARTING, DeploySpec, JobDeployment
from racetrack.phases import Phase
from racetrack.protocol import JOB_PORT

POLL_SECONDS = 1.0
LOG_TAIL_LINES = 30
STUCK = (
    "CrashLoopBackOff", "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError"
)
SELECTOR = f"{DEPLOYMENT_LABEL}=kubernetes"


class KubernetesTarget:
    """Jobs in one namespace of the cluster of a kubeconfig (default: the current one, or in-cluster).

    `registry` (e.g. registry.example.com/team): images are tagged and pushed there first, so that the
    cluster's nodes can pull them; without it the image reference is used as built."""

    name = "kubernetes"

    def __init__(
        self,
        namespace: str | None = None,
        kubeconfig: str | None = None,
        context: str | None = None,
        registry: str | None = None,
        api_client: Any = None,
        docker_client: Any = None,
    ) -> None:
        from kubernetes import client, config

        if api_client is None:
            try:
                api_client = config.new_client_from_config(config_file=kubeconfig, context=context)
            except config.ConfigException:
                if kubeconfig is not None:
                    raise
                config.load_incluster_config()
                api_client = client.ApiClient()
        self.namespace = namespace or _context_namespace(kubeconfig, context)
        self.core = client.CoreV1Api(api_client)
        self.apps = client.AppsV1Api(api_client)
        self.registry = registry
        self._docker = docker_client

    def deploy(self, spec: DeploySpec, reporter: Reporter) -> JobDeployment:
        manifest = spec.manifest
        name = dns_name(manifest.name, manifest.version)
        existing = self._read(self.apps.read_namespaced_deployment, name)
        if existing is not None and not spec.force:
            raise DeployError(
                f"{manifest.name} {manifest.version} is already deployed (Deployment "
                f"{self.namespace}/{name}); pass --force to roll it over (maxUnavailable 0: old pods serve "
                "until new ones are ready), or change `version` to run both side by side"
            )
        reporter.phase(Phase.START)
        image, commit = self._image(spec)
        try:
            objects = job_objects(
                manifest, image, commit, spec.secret_env, spec.extra_env, self.namespace, spec.timeout
            )
        except QuantityError as error:
            raise DeployError(f"{manifest.path}: {error}") from None
        reporter.step(f"applying Secret/Deployment/Service {name} in namespace {self.namespace}")
        for item in objects:
            self._apply(item)
        if not spec.secret_env:
            self._delete(self.core.delete_namespaced_secret, f"{name}-env")
        reporter.phase(Phase.READY)
        reporter.step(f"waiting for {manifest.replicas} pods to be ready (/ready)")
        try:
            self._wait_rolled_out(name, manifest.replicas, spec.timeout)
        except BaseException as error:
            if existing is None:
                self._delete_all(name)
            if isinstance(error, DeployError) and not isinstance(error, StartFailed):
                raise StartFailed(redact(str(error), spec.secret_env.values()), []) from None
            raise
        reporter.done(f"{manifest.replicas} pods ready")
        return self._deployment(self.apps.read_namespaced_deployment(name, self.namespace))

    def list(self, name: str | None = None) -> builtins.list[JobDeployment]:
        found = self.apps.list_namespaced_deployment(self.namespace, label_selector=SELECTOR).items
        jobs = [self._deployment(item) for item in found]
        chosen = [job for job in jobs if name in (None, job.name)]
        return sorted(chosen, key=lambda job: (job.name, job.version))

    def logs(self, name: str, version: str, tail: int | None = None) -> Iterator[str]:
        object_name = self._existing(name, version)
        values = self._secret_values(object_name)
        for pod in self._pods(object_name):
            text = self.core.read_namespaced_pod_log(
                pod.metadata.name, self.namespace, container="job", tail_lines=tail
            )
            for line in (text or "").splitlines():
                yield redact(line, values)

    def delete(self, name: str, version: str) -> None:
        self._delete_all(self._existing(name, version))

    def replicas(self, name: str, version: str) -> tuple[str, ...]:
        return tuple(
            f"http://{pod.status.pod_ip}:{JOB_PORT}"
            for pod in self._pods(dns_name(name, version))
            if _ready(pod) and pod.status.pod_ip and pod.metadata.deletion_timestamp is None
        )

    # --- cluster details ---

    def _image(self, spec: DeploySpec) -> tuple[str, str]:
        """The image reference the cluster pulls (pushed to `registry` first) and its source commit."""
        tag, commit = spec.image.tag, spec.image.commit
        if self.registry is None and commit:
            return tag, commit
        docker = self._docker_client()
        image = docker.images.get(tag)
        commit = commit or (image.labels or {}).get(COMMIT_LABEL, "")
        if self.registry is None:
            return tag, commit
        repository, _, version = f"{self.registry.rstrip('/')}/{tag}".rpartition(":")
        image.tag(repository, version)
        for event in docker.api.push(repository, version, stream=True, decode=True):
            if "error" in event:
                raise DeployError(f"pushing {repository}:{version} failed: {event['error']}")
        return f"{repository}:{version}", commit

    def _docker_client(self) -> Any:
        if self._docker is None:
            from racetrack.builder import connect

            self._docker = connect()
        return self._docker

    def _apply(self, item: dict[str, Any]) -> None:
        from kubernetes.client.exceptions import ApiException

        operations: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
            "Secret": (self.core.create_namespaced_secret, self.core.replace_namespaced_secret),
            "Service": (self.core.create_namespaced_service, self.core.patch_namespaced_service),
            "Deployment": (self.apps.create_namespaced_deployment, self.apps.replace_namespaced_deployment),
        }
        create, update = operations[item["kind"]]
        name = item["metadata"]["name"]
        try:
            try:
                create(self.namespace, item)
            except ApiException as error:
                if error.status != 409:
                    raise
                update(name, self.namespace, item)
        except ApiException as error:
            raise DeployError(
                f"the cluster refused {item['kind']} {self.namespace}/{name}: {error.status} {error.reason}; "
                "check that your kubeconfig's user may manage Deployments, Services and Secrets there"
            ) from None

    def _wait_rolled_out(self, name: str, replicas: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            deployment: Any = self.apps.read_namespaced_deployment_status(name, self.namespace)
            status = deployment.status
            if (
                (status.observed_generation or 0) >= (deployment.metadata.generation or 0)
                and (status.updated_replicas or 0) == replicas
                and (status.ready_replicas or 0) >= replicas
                and (status.replicas or 0) == replicas
                and not status.unavailable_replicas
            ):
                return
            for pod in self._pods(name):
                self._check_pod(pod)
            if time.monotonic() > deadline:
                raise DeployError(
                    f"{status.ready_replicas or 0} of {replicas} pods became ready within {timeout:g} s; "
                    f"`kubectl -n {self.namespace} describe deployment {name}` says why"
                )
            time.sleep(POLL_SECONDS)

    def _check_pod(self, pod: Any) -> None:
        for container in pod.status.container_statuses or []:
            waiting = container.state.waiting if container.state else None
            if waiting is not None and waiting.reason in STUCK:
                raise StartFailed(
                    f"pod {pod.metadata.name}: {waiting.reason}: {waiting.message or ''}".strip(),
                    self._log_tail(pod),
                )

    def _log_tail(self, pod: Any) -> builtins.list[str]:
        from kubernetes.client.exceptions import ApiException

        try:
            text = self.core.read_namespaced_pod_log(
                pod.metadata.name, self.namespace, container="job", tail_lines=LOG_TAIL_LINES, previous=True
            )
        except ApiException:
            return []
        return (text or "").splitlines()

    def _pods(self, object_name: str) -> builtins.list[Any]:
        return self.core.list_namespaced_pod(self.namespace, label_selector=f"{ID_LABEL}={object_name}").items

    def _existing(self, name: str, version: str) -> str:
        object_name = dns_name(name, version)
        if self._read(self.apps.read_namespaced_deployment, object_name) is None:
            raise DeployError(
                f"{name} {version} is not deployed in namespace {self.namespace}; `racetrack list` shows jobs"
            )
        return object_name

    def _secret_values(self, object_name: str) -> builtins.list[str]:
        secret = self._read(self.core.read_namespaced_secret, f"{object_name}-env")
        if secret is None or not secret.data or SECRET_KEY not in secret.data:
            return []
        values = parse_env_text(base64.b64decode(secret.data[SECRET_KEY]).decode(errors="replace"))
        return sorted((value for value in values.values() if value), key=len, reverse=True)

    def _read(self, read: Callable[..., Any], name: str) -> Any:
        from kubernetes.client.exceptions import ApiException

        try:
            return read(name, self.namespace)
        except ApiException as error:
            if error.status == 404:
                return None
            where = f"{self.namespace}/{name}"
            raise DeployError(f"reading {where} failed: {error.status} {error.reason}") from None

    def _delete(self, delete: Callable[..., Any], name: str) -> None:
        from kubernetes.client.exceptions import ApiException

        try:
            delete(name, self.namespace)
        except ApiException as error:
            if error.status != 404:
                where = f"{self.namespace}/{name}"
                raise DeployError(f"deleting {where} failed: {error.status} {error.reason}") from None

    def _delete_all(self, object_name: str) -> None:
        self._delete(self.apps.delete_namespaced_deployment, object_name)
        self._delete(self.core.delete_namespaced_service, object_name)
        self._delete(self.core.delete_namespaced_secret, f"{object_name}-env")

    def _deployment(self, deployment: Any) -> JobDeployment:
        meta = deployment.metadata
        annotations = meta.annotations or {}
        name, version = annotations.get(NAME_LABEL, ""), annotations.get(VERSION_LABEL, "")
        pods = self._pods(meta.name)
        replicas = self.replicas(name, version) if name else ()
        wanted = deployment.spec.replicas or 0
        status, error = _status(deployment, pods, len(replicas), wanted)
        [container] = deployment.spec.template.spec.containers
        return JobDeployment(
            name=name,
            version=version,
            target="kubernetes",
            status=status,
            replicas=replicas,
            image=container.image,
            created=meta.creation_timestamp,
            owner=annotations.get(OWNER_LABEL, ""),
            git_commit=annotations.get(COMMIT_LABEL, ""),
            error=error,
            labels=dict(annotations),
        )


def _ready(pod: Any) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in (pod.status.conditions or []))


def _status(deployment: Any, pods: list[Any], ready: int, wanted: int) -> tuple[str, str | None]:
    """running (all wanted pods ready), starting (rolling out), error (pods stuck), lost (none left)."""
    short = f"{ready} of {wanted} pods ready"
    stuck = [
        f"{pod.metadata.name}: {c.state.waiting.reason}"
        for pod in pods
        for c in pod.status.container_statuses or []
        if c.state and c.state.waiting and c.state.waiting.reason in STUCK
    ]
    if ready >= wanted > 0:
        return RUNNING, None
    if stuck:
        return ERROR, f"{short}; {stuck[0]}"
    if pods:
        return STARTING if not ready else RUNNING, short
    generation_seen = (deployment.status.observed_generation or 0) >= (deployment.metadata.generation or 0)
    return (LOST, short) if generation_seen else (STARTING, short)


def _context_namespace(kubeconfig: str | None, context: str | None) -> str:
    from kubernetes import config

    try:
        contexts, active = config.list_kube_config_contexts(config_file=kubeconfig)
    except (config.ConfigException, OSError):
        return "default"
    chosen = next((item for item in contexts if item["name"] == context), active) if context else active
    return str(((chosen or {}).get("context") or {}).get("namespace") or "default")
