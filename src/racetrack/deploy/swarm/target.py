"""The swarm target: each job version a Swarm service, rolled start-first; its tasks are the replicas."""

from __future__ import annotations

import builtins
import codecs
import contextlib
import secrets
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import docker
import httpx
from docker.errors import APIError, DockerException, NotFound

from racetrack.builder import connect
from racetrack.deploy.envfile import env_file_text, parse_env_text
from racetrack.deploy.errors import DeployError, StartFailed
from racetrack.deploy.logs import redact
from racetrack.deploy.probe import ask
from racetrack.deploy.quantities import QuantityError
from racetrack.deploy.registry import (
    COMMIT_LABEL,
    DEPLOYMENT_LABEL,
    NAME_LABEL,
    OWNER_LABEL,
    PORT_KEY,
    SECRET_NAMES_LABEL,
    VERSION_LABEL,
)
from racetrack.deploy.report import Reporter
from racetrack.deploy.smoke import smoke_check
from racetrack.deploy.swarm.service import (
    SECRET_PATH,
    ServiceSpec,
    secret_reference,
    service_name,
    service_spec,
    swarm_resources,
)
from racetrack.deploy.swarm.tasks import FAILED_STATES, STARTING_STATES, Task, task_from
from racetrack.deploy.target import ERROR, LOST, RUNNING, STARTING, DeploySpec, JobDeployment
from racetrack.phases import Phase

POLL_SECONDS = 0.5
LOG_TAIL_LINES = 30
FAILED_TASKS_LIMIT = 3  # new tasks failing this often end the deploy (Swarm would keep retrying)
SWARM = {"label": [f"{DEPLOYMENT_LABEL}=swarm"]}


class SwarmTarget:
    """Jobs as services of the swarm that the engine of DOCKER_HOST (a manager) belongs to."""

    name = "swarm"

    def __init__(self, client: docker.DockerClient | None = None) -> None:
        self._client = client

    @property
    def client(self) -> docker.DockerClient:
        if self._client is None:
            self._client = connect()
        return self._client

    def deploy(self, spec: DeploySpec, reporter: Reporter) -> JobDeployment:
        manifest = spec.manifest
        try:
            swarm_resources(manifest.resources)
        except QuantityError as error:
            raise DeployError(f"{manifest.path}: {error}") from None
        self._check_manager()
        name = service_name(manifest)
        old = self._service(name)
        if old is not None and not spec.force:
            raise DeployError(
                f"{manifest.name} {manifest.version} is already deployed (Swarm service {name}); pass "
                "--force to roll it over to the new image (start-first: old tasks serve until new ones are "
                "ready), or change `version` to run both side by side"
            )
        image_labels = self.client.images.get(spec.image.tag).labels or {}
        commit = spec.image.commit or image_labels.get(COMMIT_LABEL, "")
        reporter.phase(Phase.START)
        secret = self._create_secret(name, manifest.name, manifest.version, spec.secret_env)
        generation = _force_update(old) + 1 if old is not None else 0
        service = service_spec(
            manifest, spec.image.tag, commit, sorted(spec.secret_env), spec.extra_env, secret, spec.timeout,
            generation,
        )
        verb = "rolling over" if old is not None else "creating"
        reporter.step(f"{verb} Swarm service {name} ({manifest.replicas} replicas, start-first)")
        try:
            service_id = self._apply(service, old)
            reporter.phase(Phase.READY)
            reporter.step(f"waiting for {manifest.replicas} tasks to be healthy (/live says ready)")
            tasks = self._wait_converged(service_id, service.replicas, generation, spec.timeout)
            if old is not None:
                self._wait_update_completed(service_id, spec.timeout)
            reporter.done(f"{len(tasks)} tasks running")
            reporter.phase(Phase.SMOKE_TEST)
            url = tasks[0].url or ""
            smoke = smoke_check(url, manifest.python.timeout_for, spec.secret_env)
            failed = [result for result in smoke if not result.ok]
            for result in failed:
                reporter.warn(f"{result.path}: {result.summary}")
            if failed and spec.verify:
                raise DeployError(
                    f"the smoke check failed for {', '.join(result.path for result in failed)}: fix the job "
                    "or its docs input example, or deploy with --no-verify"
                )
        except BaseException as error:
            self._undo(name, old)
            self._prune_secrets(manifest.name, manifest.version, keep=_secret_names(old))
            if isinstance(error, DeployError) and not isinstance(error, StartFailed):
                raise StartFailed(redact(str(error), spec.secret_env.values()), [], None) from None
            raise
        # the previous spec's secret stays while Swarm can roll back to that spec (`docker service rollback`)
        kept = _secret_names(old) | ({secret["SecretName"]} if secret else set())
        self._prune_secrets(manifest.name, manifest.version, keep=kept)
        return self._deployment(self.client.api.inspect_service(service_id))

    def list(self, name: str | None = None) -> builtins.list[JobDeployment]:
        filters = {"label": SWARM["label"] + ([f"{NAME_LABEL}={name}"] if name else [])}
        found = [self._deployment(service) for service in self.client.api.services(filters=filters)]
        return sorted(found, key=lambda job: (job.name, job.version))

    def logs(self, name: str, version: str, tail: int | None = None) -> Iterator[str]:
        service = self._existing(name, version)
        values = self._secret_values(service)
        chunks = self.client.api.service_logs(
            service["ID"], stdout=True, stderr=True, tail="all" if tail is None else tail, follow=False
        )
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pending = ""
        for chunk in chunks:
            pending += decoder.decode(chunk)
            *lines, pending = pending.split("\n")
            for line in lines:
                yield redact(line, values)
        if pending:
            yield redact(pending, values)

    def delete(self, name: str, version: str) -> None:
        service = self._existing(name, version)
        with contextlib.suppress(NotFound):
            self.client.api.remove_service(service["ID"])
        self._prune_secrets(name, version, keep=set())

    def replicas(self, name: str, version: str) -> tuple[str, ...]:
        service = self._service_of(name, version)
        if service is None:
            return ()
        return tuple(task.url for task in self._tasks(service["ID"]) if task.serving and task.url)

    # --- engine details ---

    def _check_manager(self) -> None:
        swarm = self.client.info().get("Swarm") or {}
        if swarm.get("LocalNodeState") != "active" or not swarm.get("ControlAvailable"):
            raise DeployError(
                "the Docker engine is not a Swarm manager: run `docker swarm init` (or point DOCKER_HOST at "
                "a manager of your swarm), or deploy with the docker target"
            )

    def _service(self, name: str) -> dict[str, Any] | None:
        try:
            service = self.client.api.inspect_service(name)
        except NotFound:
            return None
        labels = (service.get("Spec") or {}).get("Labels") or {}
        if labels.get(DEPLOYMENT_LABEL) != "swarm":
            raise DeployError(f"a Swarm service named {name} exists that racetrack did not deploy; remove it")
        return service

    def _service_of(self, name: str, version: str) -> dict[str, Any] | None:
        filters = {"label": SWARM["label"] + [f"{NAME_LABEL}={name}", f"{VERSION_LABEL}={version}"]}
        found = self.client.api.services(filters=filters)
        return found[0] if found else None

    def _existing(self, name: str, version: str) -> dict[str, Any]:
        service = self._service_of(name, version)
        if service is None:
            raise DeployError(f"{name} {version} is not deployed on the swarm; `racetrack list` shows jobs")
        return service

    def _tasks(self, service_id: str) -> builtins.list[Task]:
        nodes = {node["ID"]: (node.get("Status") or {}).get("Addr", "") for node in self.client.api.nodes()}
        return [task_from(attrs, nodes) for attrs in self.client.api.tasks(filters={"service": service_id})]

    def _create_secret(
        self, service: str, name: str, version: str, values: dict[str, str]
    ) -> Any:  # a docker.types.SecretReference, or None without secrets
        if not values:
            return None
        secret_name = f"{service}-env-{secrets.token_hex(4)}"
        labels = {DEPLOYMENT_LABEL: "swarm", NAME_LABEL: name, VERSION_LABEL: version}
        created = self.client.api.create_secret(secret_name, env_file_text(values).encode(), labels=labels)
        return secret_reference(created["ID"], secret_name)

    def _apply(self, service: ServiceSpec, old: dict[str, Any] | None) -> str:
        arguments: dict[str, Any] = {
            "task_template": service.task_template,
            "name": service.name,
            "labels": service.labels,
            "mode": docker.types.ServiceMode("replicated", replicas=service.replicas),
            "update_config": service.update_config,
            "rollback_config": service.rollback_config,
            "endpoint_spec": service.endpoint_spec,
        }
        try:
            if old is None:
                return str(self.client.api.create_service(**arguments)["ID"])
            self.client.api.update_service(old["ID"], old["Version"]["Index"], **arguments)
            return str(old["ID"])
        except APIError as error:
            explanation = error.explanation or error
            raise DeployError(f"the swarm refused service {service.name}: {explanation}") from None

    def _wait_converged(
        self, service_id: str, replicas: int, generation: int, timeout: float
    ) -> builtins.list[Task]:
        """The new tasks once `replicas` of them run healthy and no old one is meant to run any more."""
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2) as http:
            while True:
                tasks = [task for task in self._tasks(service_id) if task.force_update == generation]
                serving = [task for task in tasks if task.serving]
                others = [
                    task for task in self._tasks(service_id)
                    if task.force_update != generation and task.desired == "running"
                ]
                if len(serving) >= replicas and not others:
                    return serving
                failed = [task for task in tasks if task.state in FAILED_STATES]
                if len(failed) >= FAILED_TASKS_LIMIT:
                    raise self._failure(failed[0], f"{len(failed)} new tasks failed")
                for task in tasks:
                    if task.state in STARTING_STATES + ("running",):
                        self._fail_fast(task, http)
                if time.monotonic() > deadline:
                    raise DeployError(
                        f"{len(serving)} of {replicas} tasks became ready within {timeout:g} s; if the job's "
                        "__init__ needs longer, deploy again with a larger --timeout"
                    )
                time.sleep(POLL_SECONDS)

    def _wait_update_completed(self, service_id: str, timeout: float) -> None:
        """Return once Swarm ends the rollover (its monitor period over); DeployError if it rolled back."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.client.api.inspect_service(service_id).get("UpdateStatus") or {}
            state = status.get("State") or "completed"
            if state == "completed":
                return
            if state != "updating":
                raise DeployError(
                    f"Swarm stopped the rollover ({state}: {status.get('Message') or 'no reason given'}); "
                    f"`docker service ps {service_id}` shows the tasks that failed"
                )
            if time.monotonic() > deadline:
                raise DeployError(
                    f"Swarm did not finish the rollover within {timeout:g} s (still {state}); deploy again "
                    "with a larger --timeout"
                )
            time.sleep(POLL_SECONDS)

    def _fail_fast(self, task: Task, http: httpx.Client) -> None:
        """Raise when a starting task's job reports that it cannot load (its container is on this engine)."""
        url = task.url or self._local_url(task)
        if url is None:
            return
        failure = ask(http, url + "/live").load_failure
        if failure is not None:
            raise self._failure(task, f"the job failed to load: {failure.relative_to(self._job_root(task))}")

    def _job_root(self, task: Task) -> str:
        """The job's directory in the task's container (its working dir), to shorten file locations."""
        try:
            container = self.client.containers.get(task.container_id or "")
        except DockerException:
            return ""
        return str(container.attrs["Config"].get("WorkingDir") or "")

    def _local_url(self, task: Task) -> str | None:
        if not task.container_id:
            return None
        try:
            container = self.client.containers.get(task.container_id)
        except DockerException:
            return None
        ports = ((container.attrs.get("NetworkSettings") or {}).get("Ports") or {}).get(PORT_KEY) or []
        return f"http://127.0.0.1:{ports[0]['HostPort']}" if ports else None

    def _failure(self, task: Task, message: str) -> StartFailed:
        log_tail: builtins.list[str] = []
        if task.container_id:
            try:
                raw = self.client.containers.get(task.container_id).logs(tail=LOG_TAIL_LINES)
                log_tail = raw.decode(errors="replace").splitlines()
            except DockerException:
                pass
        reason = f" ({task.error})" if task.error else ""
        return StartFailed(f"{message}{reason}", log_tail, None)

    def _undo(self, name: str, old: dict[str, Any] | None) -> None:
        """Remove a new service, or put an updated one back on its previous spec (its old tasks serve on)."""
        try:
            if old is None:
                self.client.api.remove_service(name)
                return
            current = self.client.api.inspect_service(name)
            previous = old["Spec"]
            self.client.api.update_service(
                current["ID"], current["Version"]["Index"],
                task_template=previous["TaskTemplate"], name=previous["Name"], labels=previous.get("Labels"),
                mode=previous.get("Mode"), update_config=previous.get("UpdateConfig"),
                rollback_config=previous.get("RollbackConfig"), endpoint_spec=previous.get("EndpointSpec"),
            )
        except DockerException:
            pass  # reported by the error being raised; `racetrack list` shows what is left

    def _prune_secrets(self, name: str, version: str, keep: set[str]) -> None:
        """Remove this version's secrets other than `keep`; one still in use by a task is retried later."""
        filters = {"label": SWARM["label"] + [f"{NAME_LABEL}={name}", f"{VERSION_LABEL}={version}"]}
        for secret in self.client.api.secrets(filters=filters):
            if secret["Spec"]["Name"] in keep:
                continue
            for _attempt in range(20):
                try:
                    self.client.api.remove_secret(secret["ID"])
                    break
                except NotFound:
                    break
                except APIError:
                    time.sleep(POLL_SECONDS)

    def _secret_values(self, service: dict[str, Any]) -> builtins.list[str]:
        """The job's secret values, read from a task on this engine, to redact them from its logs."""
        labels = service["Spec"].get("Labels") or {}
        names = set(filter(None, (labels.get(SECRET_NAMES_LABEL) or "").split(",")))
        if not names:
            return []
        for task in self._tasks(service["ID"]):
            if not (task.serving and task.container_id):
                continue
            try:  # a Swarm secret lives on a tmpfs that `docker cp` does not see: read it as the job's user
                result = self.client.containers.get(task.container_id).exec_run(["cat", SECRET_PATH])
            except DockerException:
                continue
            if result.exit_code != 0:
                continue
            values = parse_env_text(result.output.decode(errors="replace"))
            return sorted((v for k, v in values.items() if k in names and v), key=len, reverse=True)
        return []

    def _deployment(self, service: dict[str, Any]) -> JobDeployment:
        spec = service["Spec"]
        labels = spec.get("Labels") or {}
        wanted = int(((spec.get("Mode") or {}).get("Replicated") or {}).get("Replicas") or 0)
        tasks = self._tasks(service["ID"])
        serving = [task for task in tasks if task.serving]
        status, error = _status(service, tasks, serving, wanted)
        return JobDeployment(
            name=labels.get(NAME_LABEL, ""),
            version=labels.get(VERSION_LABEL, ""),
            target="swarm",
            status=status,
            replicas=tuple(task.url for task in serving if task.url),
            image=spec["TaskTemplate"]["ContainerSpec"]["Image"].split("@")[0],
            created=datetime.fromisoformat(service["CreatedAt"][:26].rstrip("Z") + "+00:00"),
            owner=labels.get(OWNER_LABEL, ""),
            git_commit=labels.get(COMMIT_LABEL, ""),
            error=error,
            labels=labels,
        )


def _secret_names(service: dict[str, Any] | None) -> set[str]:
    """The Docker secrets a service's spec mounts (none for no service)."""
    if service is None:
        return set()
    secrets = service["Spec"]["TaskTemplate"]["ContainerSpec"].get("Secrets") or []
    return {secret["SecretName"] for secret in secrets}


def _force_update(service: dict[str, Any]) -> int:
    """The highest task generation of the service's spec and of the one before (a rollback swaps them)."""
    specs = [service["Spec"], service.get("PreviousSpec") or {}]
    return max(int((spec.get("TaskTemplate") or {}).get("ForceUpdate") or 0) for spec in specs)


def _status(
    service: dict[str, Any], tasks: list[Task], serving: list[Task], wanted: int
) -> tuple[str, str | None]:
    """running (all wanted replicas serve), starting (tasks on their way), error (none serves), lost."""
    updating = ((service.get("UpdateStatus") or {}).get("State") or "") in ("updating", "rollback_started")
    if len(serving) >= wanted and wanted > 0:
        return RUNNING, None
    on_their_way = [task for task in tasks if task.desired == "running" and task.state in STARTING_STATES]
    short = f"{len(serving)} of {wanted} replicas serving"
    if updating or on_their_way:
        return STARTING, short
    if serving:
        return RUNNING, short
    failed = [task for task in tasks if task.state in FAILED_STATES and task.error]
    if failed:
        return ERROR, f"{short}; last task error: {failed[0].error}"
    return LOST, short
