"""The job's source: a shallow git clone of `git.remote` (the default) or the working directory."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from docker.utils.build import exclude_paths

from racetrack.builder.config import GitCredentials, RacetrackConfig
from racetrack.builder.engine import BuildError
from racetrack.manifest import Manifest

# Git asks this helper for https credentials; they come from the variables of that one git process only.
_CREDENTIAL_HELPER = (
    '!f() { test "$1" = get || exit 0; echo "username=$_RACETRACK_GIT_USERNAME"; '
    'echo "password=$_RACETRACK_GIT_PASSWORD"; }; f'
)


@dataclass(frozen=True)
class JobSource:
    """The files that go into the image, relative to `root` (the directory holding the job's manifest)."""

    root: Path
    files: tuple[str, ...]
    commit: str
    origin: str


def fetch_git(manifest: Manifest, workdir: Path, config: RacetrackConfig) -> JobSource:
    """Clone `git.remote` at `git.branch` (shallow) into `workdir`; the job root is `git.directory`."""
    remote = _remote_url(manifest)
    shown = display_remote(remote)
    branch = manifest.git.branch
    checkout = workdir / "checkout"
    command = ["clone", "--quiet", "--depth", "1", "--single-branch"]
    if branch:
        command += ["--branch", branch]
    host = urlsplit(remote).hostname
    credentials = config.credentials_for(host) if host and remote.startswith("https://") else None
    config_args, env = credential_args(credentials) if credentials else ([], {})
    env["GIT_TERMINAL_PROMPT"] = "0"
    where = f"{shown}" + (f" (branch {branch!r})" if branch else "")
    _git([*config_args, *command, "--", remote, str(checkout)], workdir, env, f"cannot clone {where}")
    commit = _git(["rev-parse", "HEAD"], checkout, what="cannot read the cloned commit").strip()
    root = (checkout / manifest.git.directory).resolve()
    if not root.is_dir() or not root.is_relative_to(checkout.resolve()):
        raise BuildError(
            f"git.directory {manifest.git.directory!r} does not exist in {where} at commit {commit[:12]}; "
            f"fix git.directory in {manifest.path} or push that directory"
        )
    tracked = _git(["ls-files", "-z"], root, what="cannot list the cloned files").split("\0")
    return JobSource(root, _selected(root, tracked, manifest), commit, f"git {where} @ {commit[:12]}")


def credential_args(credentials: GitCredentials) -> tuple[list[str], dict[str, str]]:
    """git options and variables that answer credential requests; nothing lands in a URL or .git/config."""
    args = ["-c", "credential.helper=", "-c", f"credential.helper={_CREDENTIAL_HELPER}"]
    return args, {
        "_RACETRACK_GIT_USERNAME": credentials.username,
        "_RACETRACK_GIT_PASSWORD": credentials.password,
    }


def local_source(manifest: Manifest) -> JobSource:
    """The job's directory as it is on disk, minus what .gitignore and .dockerignore exclude."""
    root = manifest.root.resolve()
    if _in_work_tree(root):
        listed = _git(
            ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], root, what="cannot list files"
        )
        candidates = [name for name in listed.split("\0") if name and (root / name).is_file()]
        commit = (
            _git(["rev-parse", "HEAD"], root, what="cannot read HEAD").strip() if _has_commits(root) else ""
        )
        if commit and _git(["status", "--porcelain", "--", "."], root, what="cannot read git status").strip():
            commit += "-dirty"
    else:
        candidates, commit = _all_files(root), ""
    return JobSource(
        root, _selected(root, candidates, manifest), commit or "unknown", f"local directory {root}"
    )


def manifest_drift(manifest: Manifest) -> str | None:
    """A warning when the manifest on disk differs from its committed version on the job's branch."""
    folder = manifest.path.resolve().parent
    if not _in_work_tree(folder) or not _has_commits(folder):
        return None
    top = Path(_git(["rev-parse", "--show-toplevel"], folder, what="cannot find the repository").strip())
    relative = manifest.path.resolve().relative_to(top.resolve()).as_posix()
    branch = manifest.git.branch or _git(["branch", "--show-current"], folder, what="no branch").strip()
    refs = [f"origin/{branch}", branch] if branch else []
    for ref in [*refs, "HEAD"]:
        try:
            committed = _git(["show", f"{ref}:{relative}"], folder, what="", quiet=True)
        except BuildError:
            continue
        if committed != manifest.path.read_text():
            return (
                f"{manifest.path} differs from its version on {ref}: a build from git (the default) uses the "
                "committed code; commit and push your changes, or build with --source local"
            )
        return None
    return f"{manifest.path} is not committed on {refs[0] if refs else 'HEAD'}: commit and push it"


def display_remote(remote: str) -> str:
    """The remote URL without any user:password part, for messages and labels."""
    parts = urlsplit(remote)
    if parts.password is None and parts.username is None:
        return remote
    return urlunsplit(parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else "")))


def _remote_url(manifest: Manifest) -> str:
    """`git.remote`, with a local path (relative to the manifest) turned into a file:// URL."""
    remote = manifest.git.remote
    if "://" in remote or remote.startswith("git@"):
        return remote
    path = (manifest.root / Path(remote).expanduser()).resolve()
    return path.as_uri()


def _selected(root: Path, candidates: list[str], manifest: Manifest) -> tuple[str, ...]:
    """Candidates kept by .dockerignore, never the secret env files or .git."""
    ignore_file = root / ".dockerignore"
    kept = set(candidates)
    if ignore_file.is_file():
        patterns = [line.strip() for line in ignore_file.read_text().splitlines()]
        allowed = set(exclude_paths(str(root), [p for p in patterns if p and not p.startswith("#")]))
        kept &= allowed
    secrets = {manifest.secret_build_env_file, manifest.secret_runtime_env_file} - {None}
    for name in secrets:
        secret = (manifest.root / os.path.expanduser(name)).resolve()
        if secret.is_relative_to(root):
            kept.discard(secret.relative_to(root).as_posix())
    return tuple(sorted(name for name in kept if name and not name.startswith(".git/") and name != ".git"))


def _all_files(root: Path) -> list[str]:
    files = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = [name for name in dirs if name != ".git"]
        files += [(Path(folder) / name).relative_to(root).as_posix() for name in names]
    return files


def _in_work_tree(folder: Path) -> bool:
    try:
        return _git(["rev-parse", "--is-inside-work-tree"], folder, what="", quiet=True).strip() == "true"
    except BuildError:
        return False


def _has_commits(folder: Path) -> bool:
    try:
        _git(["rev-parse", "--verify", "--quiet", "HEAD"], folder, what="", quiet=True)
        return True
    except BuildError:
        return False


def _git(
    args: list[str], cwd: Path, env: dict[str, str] | None = None, what: str = "", quiet: bool = False
) -> str:
    try:
        result = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env={**os.environ, **(env or {})},
            capture_output=True,
            text=True,
            timeout=600,
        )
    except FileNotFoundError:
        raise BuildError("git is not installed: install it (e.g. `apt-get install git`)") from None
    except subprocess.TimeoutExpired:
        raise BuildError(f"{what}: git did not finish within 10 minutes") from None
    if result.returncode != 0:
        detail = "" if quiet else "\n".join(result.stderr.strip().splitlines()[-5:])
        raise BuildError(f"{what}: {detail}" if detail else what)
    return result.stdout
