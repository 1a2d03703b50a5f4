"""`racetrack images bootstrap`: a Python base image from Debian packages (debootstrap + docker import),
for engines that cannot pull from a registry."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import docker

from racetrack.builder.config import load_config, save_setting
from racetrack.builder.engine import BuildError, image_exists
from racetrack.builder.logs import Progress

BOOTSTRAP_REPOSITORY = "racetrack/python3-base"
DEFAULT_SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
PACKAGES = ("python3", "python3-venv", "ca-certificates")
# Folders whose content an image does not need: package lists and caches (apt refetches), documentation.
EMPTIED = ("var/lib/apt/lists", "var/cache/apt", "usr/share/doc", "usr/share/man", "usr/share/info")
IMAGE_CHANGES = [
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=C.UTF-8",
    'CMD ["python3"]',
]


def bootstrap_tag(suite: str = DEFAULT_SUITE) -> str:
    return f"{BOOTSTRAP_REPOSITORY}:{suite}"


def host_apt_mirror(sources: Path = Path("/etc/apt")) -> str:
    """The Debian mirror this host's apt uses (deb822 .sources or one-line sources.list), else the default."""
    files = sorted((sources / "sources.list.d").glob("*.sources")) + [sources / "sources.list"]
    for file in files:
        text = file.read_text() if file.is_file() else ""
        for uri in re.findall(r"^URIs:\s*(\S+)", text, re.M) + re.findall(
            r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)", text, re.M
        ):
            if uri.rstrip("/").endswith("/debian"):
                return uri
    return DEFAULT_MIRROR


def host_apt_proxy() -> dict[str, str]:
    """http_proxy/https_proxy for debootstrap: the environment's, else apt's Acquire::http(s)::Proxy."""
    env = {name: os.environ[name] for name in ("http_proxy", "https_proxy") if os.environ.get(name)}
    try:
        dump = subprocess.run(["apt-config", "dump"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        dump = ""
    for scheme in ("http", "https"):
        match = re.search(rf'^Acquire::{scheme}::Proxy "([^"]+)";', dump, re.M | re.I)
        if match and f"{scheme}_proxy" not in env:
            env[f"{scheme}_proxy"] = match.group(1)
    return env


def bootstrap_image(
    client: docker.DockerClient,
    suite: str = DEFAULT_SUITE,
    mirror: str | None = None,
    progress: Progress | None = None,
) -> str:
    """Build `racetrack/python3-base:<suite>` from `mirror` and import it into the engine; its tag."""
    if os.geteuid() != 0:
        raise BuildError("racetrack images bootstrap runs debootstrap, which needs root: run it with sudo")
    if not shutil.which("debootstrap"):
        raise BuildError("debootstrap is not installed: `sudo apt-get install debootstrap`, then try again")
    mirror = mirror or host_apt_mirror()
    say = progress or (lambda line: None)
    tag = bootstrap_tag(suite)
    with tempfile.TemporaryDirectory(prefix="racetrack-bootstrap-", dir="/var/tmp") as workdir:
        rootfs = Path(workdir) / "rootfs"
        say(f"racetrack: debootstrap {suite} from {mirror} with {', '.join(PACKAGES)}")
        command = [
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(PACKAGES)}",
            suite,
            str(rootfs),
            mirror,
        ]
        _run_streamed(command, {**os.environ, **host_apt_proxy()}, say)
        for name in EMPTIED:
            shutil.rmtree(rootfs / name, ignore_errors=True)
            (rootfs / name).mkdir(parents=True, exist_ok=True)
        for name in ("var/lib/apt/lists/partial", "var/cache/apt/archives/partial"):
            (rootfs / name).mkdir(parents=True, exist_ok=True)
        say(f"racetrack: importing the file system as {tag}")
        archive = Path(workdir) / "rootfs.tar"
        subprocess.run(["tar", "-C", str(rootfs), "--numeric-owner", "-cf", str(archive), "."], check=True)
        repository, _, name = tag.partition(":")
        client.api.import_image_from_file(
            str(archive), repository=repository, tag=name, changes=IMAGE_CHANGES
        )
    return tag


def _run_streamed(command: list[str], env: dict[str, str], say: Progress) -> None:
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    tail: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        say(line.rstrip())
        tail = [*tail[-19:], line.rstrip()]
    if process.wait() != 0:
        shown = "\n".join(f"  | {line}" for line in tail)
        raise BuildError(f"{command[0]} failed (exit {process.returncode}); last lines:\n{shown}")


def ensure_base_image(
    client: docker.DockerClient,
    suite: str = DEFAULT_SUITE,
    mirror: str | None = None,
    if_missing: bool = False,
    make_default: bool = True,
    progress: Progress | None = None,
) -> tuple[str, bool]:
    """Bootstrap the base image (with `if_missing`: only when the configured base image is absent) and make it
    the default; (the image now configured or built, whether one was built)."""
    config = load_config()
    if if_missing and image_exists(client, config.base_image):
        return config.base_image, False
    tag = bootstrap_tag(suite)
    built = not (if_missing and image_exists(client, tag))
    if built:
        bootstrap_image(client, suite, mirror, progress)
    if make_default:
        save_setting("base_image", tag)
    return tag, built
