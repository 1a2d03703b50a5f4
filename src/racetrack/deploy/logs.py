"""A job container's output, with the values of its secret runtime variables redacted."""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator

from docker.errors import DockerException
from docker.models.containers import Container

from racetrack.deploy.envfile import file_from_tar, parse_env_text
from racetrack.deploy.registry import SECRET_NAMES_LABEL
from racetrack.protocol import ENV_SECRET_ENV_FILE

REDACTED = "[secret]"


def secret_values(container: Container) -> list[str]:
    """Values of the container's secret runtime variables, read from its secret env file, longest first."""
    names = set(filter(None, (container.labels.get(SECRET_NAMES_LABEL) or "").split(",")))
    if not names:
        return []
    values = [value for key, value in _secret_file(container).items() if key in names and value]
    for entry in container.attrs["Config"].get("Env") or []:  # containers deployed before the secret file
        key, _, value = entry.partition("=")
        if key in names and value:
            values.append(value)
    return sorted(values, key=len, reverse=True)


def _secret_file(container: Container) -> dict[str, str]:
    env = dict(entry.partition("=")[::2] for entry in container.attrs["Config"].get("Env") or [])
    path = env.get(ENV_SECRET_ENV_FILE)
    if not path:
        return {}
    try:
        stream, _stat = container.get_archive(path)
        text = file_from_tar(b"".join(stream))
    except DockerException:
        return {}
    return parse_env_text(text or "")


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


def tail_lines(container: Container, count: int) -> list[str]:
    """The last `count` lines the container printed (stdout and stderr), secrets redacted."""
    text = container.logs(tail=count).decode(errors="replace")
    return redact(text, secret_values(container)).splitlines()


def stream_lines(container: Container, tail: int | None, follow: bool) -> Iterator[str]:
    """The container's output by line (all, or the last `tail` lines), then new lines if `follow`."""
    secrets = secret_values(container)
    chunks = container.logs(stream=True, follow=follow, tail="all" if tail is None else tail)
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending = ""
    for chunk in chunks:
        pending += decoder.decode(chunk)
        *lines, pending = pending.split("\n")
        for line in lines:
            yield redact(line, secrets)
    if pending:
        yield redact(pending, secrets)
