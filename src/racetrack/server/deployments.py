"""Deployments: accept a deploy request, then build and start the job in the background, phase by phase."""

from __future__ import annotations

import dataclasses
import logging
import shutil
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select, update

from racetrack.builder.logs import PHASE_LINE
from racetrack.manifest import (
    Manifest,
    ManifestError,
    load_manifest,
    public_endpoint_warning,
    secret_runtime_env,
)
from racetrack.phases import Phase
from racetrack.protocol import ENV_AUTH_TOKEN, ENV_GATEWAY_TOKEN, ENV_PUB_URL, gateway_token
from racetrack.server.archive import unpack_context
from racetrack.server.auth import DEPLOY_JOB, DEPLOY_NEW_FAMILY, DEPLOYER_SCOPES, Principal
from racetrack.server.errors import BadRequest, Conflict, EntityNotFound
from racetrack.server.infrastructure import DeploySpec
from racetrack.server.models import Deployment, Job, PublicEndpoint
from racetrack.server.payload import DeployRequest
from racetrack.server.state import State

logger = logging.getLogger("racetrack.server.deploy")
IN_PROGRESS, DONE, FAILED = "in_progress", "done", "failed"
RESTARTED = (
    "the server restarted during this deployment (in phase {phase!r}); nothing was resumed: deploy again"
)


class Deployer:
    """Accepts deploy requests and runs them on a bounded pool; one per name+version at a time."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.pool = ThreadPoolExecutor(state.config.max_parallel_deployments, thread_name_prefix="deploy")
        self._lock = threading.Lock()
        self.workspaces = state.config.data_dir / "workspaces"
        self.active = 0  # deployments running or queued in this process

    def recover(self) -> int:
        """Mark deployments cut off by a restart as failed (they are not run again); how many there were."""
        with self.state.sessions.begin() as session:
            rows = session.scalars(select(Deployment).where(Deployment.status == IN_PROGRESS)).all()
            for row in rows:
                row.status, row.update_time = FAILED, time.time()
                row.error = RESTARTED.format(phase=row.phase or "queued")
                row.secrets = None
        shutil.rmtree(self.workspaces, ignore_errors=True)
        for row in rows:
            logger.warning(
                "deployment %s of %s %s failed: %s", row.id, row.job_name, row.job_version, row.error
            )
        return len(rows)

    def submit(self, principal: Principal, request: DeployRequest) -> str:
        """Check the request now (400/403/409), queue the deployment; its id."""
        deployment_id = str(uuid.uuid4())
        workspace = self.workspaces / deployment_id
        try:
            manifest = self._prepare(workspace, request)
            self._check_family(principal, manifest.name)
            self._insert(deployment_id, principal, manifest, request)
        except BaseException:
            shutil.rmtree(workspace, ignore_errors=True)
            raise
        with self._lock:
            self.active += 1
        self.pool.submit(self._run, deployment_id)
        return deployment_id

    def _prepare(self, workspace: Path, request: DeployRequest) -> Manifest:
        """The workspace with the uploaded context (secret env files dropped) and the validated manifest."""
        self.workspaces.mkdir(parents=True, exist_ok=True, mode=0o700)
        workspace.mkdir(mode=0o700)
        if request.build_context is not None:
            unpack_context(request.build_context, workspace, self.state.config.max_context_bytes)
        if request.manifest.get("extends"):
            raise BadRequest("manifest field `extends` must be resolved by the client before deploying")
        data = {key: value for key, value in request.manifest.items() if key != "extends"}
        manifest_file = workspace / "fatman.yaml"
        for name in ("fatman.yaml", "job.yaml"):
            (workspace / name).unlink(missing_ok=True)
        manifest_file.write_text(yaml.safe_dump(data, sort_keys=False))
        try:
            manifest = load_manifest(manifest_file)
        except ManifestError as error:
            raise BadRequest(
                "validating manifest: " + "; ".join(_relative(str(p), workspace) for p in error.problems)
            ) from None
        wanted, serving = manifest.infrastructure_target, self.state.infra.name
        if wanted and wanted != serving:
            raise BadRequest(
                f"manifest asks for infrastructure_target {wanted!r}, but this server deploys to {serving!r} "
                f"only (racetrack server --infrastructure {serving}); remove the field or deploy elsewhere"
            )
        for secret_file in (manifest.secret_build_env_file, manifest.secret_runtime_env_file):
            if secret_file:
                secret = (workspace / secret_file).resolve()
                if secret.is_relative_to(workspace.resolve()) and secret.is_file():
                    secret.unlink()
        if request.build_context is None and not manifest.git.remote.startswith("https://"):
            raise BadRequest(
                f"git.remote {manifest.git.remote!r} is not an https:// URL: the server clones only https "
                "remotes; push the job and name its https URL, or deploy with --build-context local"
            )
        return manifest

    def _check_family(self, principal: Principal, name: str) -> None:
        with self.state.sessions() as session:
            known = session.scalar(select(Job.id).where(Job.name == name).limit(1)) is not None
        if known:
            self.state.auth.require(principal, DEPLOY_JOB, name)
        else:
            self.state.auth.require(principal, DEPLOY_NEW_FAMILY)

    def _insert(
        self, deployment_id: str, principal: Principal, manifest: Manifest, request: DeployRequest
    ) -> None:
        secrets = {
            "build_env": request.build_env,
            "runtime_env": request.runtime_env,
            "git": [request.git_username, request.git_password] if request.git_username is not None else None,
        }
        now = time.time()
        with self._lock, self.state.sessions.begin() as session:
            ongoing = session.scalar(
                select(Deployment).where(
                    Deployment.job_name == manifest.name,
                    Deployment.job_version == manifest.version,
                    Deployment.status == IN_PROGRESS,
                )
            )
            if ongoing is not None:
                when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ongoing.update_time))
                raise Conflict(
                    f"There's already ongoing deployment of job {manifest.name} {manifest.version}, recently "
                    f"updated at {when}; wait for it (deployment {ongoing.id}) or deploy another version"
                )
            session.add(
                Deployment(
                    id=deployment_id,
                    status=IN_PROGRESS,
                    phase=Phase.QUEUED,
                    job_name=manifest.name,
                    job_version=manifest.version,
                    deployed_by=principal.name,
                    deployer_kind=principal.kind,
                    manifest_yaml=yaml.safe_dump(manifest.data, sort_keys=False),
                    infrastructure_target=self.state.infra.name,
                    force=request.force,
                    build_from="local" if request.build_context is not None else "git",
                    secrets=self.state.box.seal(secrets),
                    no_cache="--no-cache" in request.build_flags,
                    warnings="\n".join(map(public_endpoint_warning, manifest.public_endpoints)) or None,
                    create_time=now,
                    update_time=now,
                )
            )
        logger.info(
            "deployment %s of %s %s requested by %s",
            deployment_id,
            manifest.name,
            manifest.version,
            principal.caller,
        )

    # --- the background part ---

    def _run(self, deployment_id: str) -> None:
        tracker = PhaseTracker(self.state, deployment_id)
        self.state.metrics.in_progress.inc()
        secret_dir = Path(tempfile.mkdtemp(prefix="racetrack-secrets-"))
        secret_values: list[str] = []
        try:
            with self.state.sessions() as session:
                row = session.get(Deployment, deployment_id)
                assert row is not None
                force, build_from, deployed_by = row.force, row.build_from, row.deployed_by
                no_cache, deployer_kind = row.no_cache, row.deployer_kind
                secrets = self.state.box.open(row.secrets)
            secret_values = [
                v for group in ("build_env", "runtime_env") for v in secrets[group].values() if v
            ]
            secret_values += [v for v in (secrets.get("git") or [])[1:] if v]
            workspace = self.workspaces / deployment_id
            manifest = load_manifest(workspace / "fatman.yaml")
            self._check_overwrite(manifest, force)
            job_secrets = self._job_secrets(manifest)
            secret_values += list(job_secrets.values())
            manifest = _with_secret_files(manifest, secret_dir, secrets)
            runtime_secrets = secret_runtime_env(manifest)  # the client's, checked like a local deploy's
            image = self._build(manifest, build_from, secrets, tracker, no_cache)
            self._save_image(deployment_id, image.tag)
            spec = DeploySpec(
                manifest,
                image,
                secret_env={**runtime_secrets, **job_secrets},
                extra_env={ENV_PUB_URL: self.state.config.jobs_pub_url},
                force=force,
                timeout=self.state.config.ready_timeout,
            )
            self.state.infra.deploy(spec, tracker)
            logs = _read_log(image.log_path)
            deployer = (deployer_kind, deployed_by)
            self._finish(deployment_id, manifest, image.tag, deployer, logs, secrets["runtime_env"])
            tracker.end(DONE)
        except BaseException as error:  # noqa: BLE001 - any failure ends the deployment as failed
            message = _redact(str(error) or type(error).__name__, secret_values)
            if isinstance(error, ManifestError):
                message = "validating manifest: " + "; ".join(str(p) for p in error.problems)
            tracker.fail(
                _redact(message, secret_values),
                _redact(_latest_build_log(deployment_id, self.state) or "", secret_values),
            )
            logger.warning("deployment %s failed: %s", deployment_id, _redact(message, secret_values))
        finally:
            self.state.metrics.in_progress.dec()
            with self._lock:
                self.active -= 1
            shutil.rmtree(secret_dir, ignore_errors=True)
            shutil.rmtree(self.workspaces / deployment_id, ignore_errors=True)

    def _save_image(self, deployment_id: str, tag: str) -> None:
        with self.state.sessions.begin() as session:
            session.execute(update(Deployment).where(Deployment.id == deployment_id).values(image_name=tag))

    def _check_overwrite(self, manifest: Manifest, force: bool) -> None:
        with self.state.sessions() as session:
            exists = session.scalar(
                select(Job.id).where(Job.name == manifest.name, Job.version == manifest.version)
            )
        if exists is not None and not force:
            raise Conflict(
                f"job {manifest.name} v{manifest.version} is already deployed. Try deploying next version or "
                "use --force flag"
            )

    def _job_secrets(self, manifest: Manifest) -> dict[str, str]:
        """Runtime secrets of every job the server deploys: its family's token, the gateway credential."""
        secrets = {ENV_AUTH_TOKEN: self.state.auth.family_token(manifest.name)}
        if self.state.config.gateway_only_jobs:
            secrets[ENV_GATEWAY_TOKEN] = gateway_token(
                self.state.gateway_secret, manifest.name, manifest.version
            )
        return secrets

    def _build(
        self, manifest: Manifest, build_from: str, secrets: dict, tracker: PhaseTracker, no_cache: bool
    ) -> Any:
        from racetrack.builder import build_image
        from racetrack.builder.config import GitCredentials, load_config

        config = load_config()
        if secrets.get("git"):
            username, password = secrets["git"]
            config = dataclasses.replace(
                config, git_credentials=(GitCredentials("*", username, password),), from_environment=False
            )
        tracker.phase(Phase.SOURCE)
        return build_image(  # type: ignore[arg-type]
            manifest, build_from, None, tracker.build_line, config, no_cache=no_cache
        )

    def _finish(
        self,
        deployment_id: str,
        manifest: Manifest,
        image: str,
        deployer: tuple[str, str],
        logs: str | None,
        runtime_secrets: dict[str, str],
    ) -> None:
        """Record the job version, its public endpoint requests, and the deployer's rights on its family."""
        (deployer_kind, deployed_by), now = deployer, time.time()
        manifest_yaml = yaml.safe_dump(manifest.data, sort_keys=False)
        with self.state.sessions.begin() as session:
            job = session.scalar(
                select(Job).where(Job.name == manifest.name, Job.version == manifest.version)
            )
            if job is None:
                job = Job(id=str(uuid.uuid4()), name=manifest.name, version=manifest.version, create_time=now)
                session.add(job)
            job.deployment_id, job.manifest_yaml, job.image_tag = deployment_id, manifest_yaml, image
            job.deployed_by, job.infrastructure_target = deployed_by, self.state.infra.name
            job.build_logs, job.update_time = logs, now
            job.secrets = self.state.box.seal(runtime_secrets) if runtime_secrets else None
            session.execute(
                update(Deployment)
                .where(Deployment.id == deployment_id)
                .values(
                    image_name=image,
                    build_logs=logs,
                    secrets=None,
                )
            )
            for endpoint in manifest.public_endpoints:
                found = session.scalar(
                    select(PublicEndpoint).where(
                        PublicEndpoint.job_name == manifest.name,
                        PublicEndpoint.job_version == manifest.version,
                        PublicEndpoint.endpoint == endpoint,
                    )
                )
                if found is None:
                    session.add(
                        PublicEndpoint(
                            job_name=manifest.name,
                            job_version=manifest.version,
                            endpoint=endpoint,
                            status="pending",
                            update_time=now,
                        )
                    )
        for scope in DEPLOYER_SCOPES:
            self.state.auth.grant(deployer_kind, deployed_by, scope, manifest.name)


class PhaseTracker:
    """A deploy Reporter and build progress callback that records the deployment's phase in the database."""

    def __init__(self, state: State, deployment_id: str) -> None:
        self.state, self.id = state, deployment_id
        row = get_deployment(state, deployment_id)
        self.current: str | None = row.phase  # `queued` since the request was accepted
        self.started = time.monotonic() - max(0.0, time.time() - row.create_time)
        self.warnings: list[str] = list(filter(None, [row.warnings]))

    def phase(self, phase: Phase) -> None:
        if phase == self.current:
            return
        self._close_phase()
        self.current = str(phase)
        self._save(phase=self.current)

    def build_line(self, line: str) -> None:
        """Follow the builder's phase lines ("racetrack: phase requirements: started")."""
        marker = PHASE_LINE.match(line)
        if marker and marker["state"] in ("started", "cached"):
            try:
                self.phase(Phase(marker["phase"]))
            except ValueError:
                logger.warning("unknown build phase %r", marker["phase"])

    def step(self, text: str) -> None:
        pass

    def done(self, text: str) -> None:
        pass

    def note(self, text: str) -> None:
        pass

    def warn(self, text: str) -> None:
        self.warnings.append(text)
        self._save(warnings="\n".join(self.warnings))

    def end(self, status: str) -> None:
        self._close_phase()
        self.state.metrics.deployments.labels(status).inc()
        self._save(status=status, phase=None)

    def fail(self, error: str, logs: str) -> None:
        self._close_phase()
        self.state.metrics.deployments.labels(FAILED).inc()
        self._save(status=FAILED, error=error, secrets=None, **({"build_logs": logs} if logs else {}))

    def _close_phase(self) -> None:
        now = time.monotonic()
        if self.current is not None:
            self.state.metrics.phases.labels(self.current).observe(now - self.started)
        self.started = now

    def _save(self, **values: Any) -> None:
        with self.state.sessions.begin() as session:
            session.execute(
                update(Deployment).where(Deployment.id == self.id).values(update_time=time.time(), **values)
            )


def deployment_dto(row: Deployment, job: dict | None) -> dict[str, Any]:
    """Racetrack's DeploymentDto."""
    return {
        "id": row.id,
        "status": row.status,
        "create_time": int(row.create_time),
        "update_time": int(row.update_time),
        "error": row.error,
        "job": job,
        "deployed_by": row.deployed_by,
        "phase": row.phase,
        "image_name": row.image_name,
        "infrastructure_target": row.infrastructure_target,
        "manifest_yaml": row.manifest_yaml,
        "job_name": row.job_name,
        "job_version": row.job_version,
        "warnings": row.warnings,
    }


def get_deployment(state: State, deployment_id: str) -> Deployment:
    with state.sessions() as session:
        row = session.get(Deployment, deployment_id)
    if row is None:
        raise EntityNotFound(f"deployment with ID {deployment_id} was not found")
    return row


def _with_secret_files(manifest: Manifest, folder: Path, secrets: dict) -> Manifest:
    """The manifest reading the client's secret vars from private files in `folder` (not in the workspace)."""
    from racetrack.deploy.envfile import env_file_text

    changes: dict[str, str | None] = {}
    for group, field in (("build_env", "secret_build_env_file"), ("runtime_env", "secret_runtime_env_file")):
        values = secrets.get(group) or {}
        if values:
            path = folder / f"{group}.env"
            path.write_text(env_file_text(values))
            path.chmod(0o600)
            changes[field] = str(path)
        else:
            changes[field] = None
    return dataclasses.replace(manifest, **changes)  # type: ignore[arg-type]


def _redact(text: str, secrets: list[str]) -> str:
    for secret in sorted(set(secrets), key=len, reverse=True):
        text = text.replace(secret, "[secret]")
    return text


def _relative(text: str, workspace: Path) -> str:
    return text.replace(str(workspace.resolve()) + "/", "").replace(str(workspace) + "/", "")


def _read_log(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return None


def _latest_build_log(deployment_id: str, state: State) -> str | None:
    """The newest build log of the deployment's job written since it started (a failed build's)."""
    from racetrack.builder.logs import job_logs

    row = get_deployment(state, deployment_id)
    logs = [p for p in job_logs(row.job_name) if p.stat().st_mtime >= row.create_time - 1]
    return _read_log(logs[-1]) if logs else None
