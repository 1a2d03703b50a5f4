"""secret_build_env_file values install a package from a password-protected index, yet appear nowhere in
the image (no layer, history, config or label) nor in the build log."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import secrets
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from build_helpers import JOBS, commit_all, make_repo

from racetrack.builder import build_image
from racetrack.manifest import load_manifest

pytestmark = pytest.mark.docker
PACKAGE = "racetrack_secret_probe"


def probe_wheel() -> tuple[str, bytes]:
    """A minimal wheel of a package holding VALUE = "installed with the secret"."""
    name = f"{PACKAGE}-1.0-py3-none-any.whl"
    files = {
        f"{PACKAGE}/__init__.py": b'VALUE = "installed with the secret"\n',
        f"{PACKAGE}-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: racetrack-secret-probe\n"
        b"Version: 1.0\n",
        f"{PACKAGE}-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n",
    }
    record = (
        "".join(
            f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}\n"
            for path, data in files.items()
        )
        + f"{PACKAGE}-1.0.dist-info/RECORD,,\n"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, data in {**files, f"{PACKAGE}-1.0.dist-info/RECORD": record.encode()}.items():
            archive.writestr(path, data)
    return name, buffer.getvalue()


class PrivateIndex:
    """A package index on 127.0.0.1 that answers only requests with the right basic-auth credentials."""

    def __init__(self, user: str, token: str) -> None:
        self.expected = "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()
        self.authorized = 0
        self.wheel_name, self.wheel = probe_wheel()
        index = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.headers.get("Authorization") != index.expected:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="private"')
                    self.end_headers()
                    return
                index.authorized += 1
                if self.path.rstrip("/") == "/simple/racetrack-secret-probe":
                    body = f'<a href="/files/{index.wheel_name}">{index.wheel_name}</a>'.encode()
                elif self.path == f"/files/{index.wheel_name}":
                    body = index.wheel
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header(
                    "Content-Type", "text/html" if "/simple/" in self.path else "application/zip"
                )
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def secret_build(tmp_path_factory, engine):
    user, token = f"user-{secrets.token_hex(8)}", f"token-{secrets.token_hex(16)}"
    index = PrivateIndex(user, token)
    repo = make_repo(tmp_path_factory.mktemp("secret") / "repo", {"jobs/secret-probe": JOBS / "secret-probe"})
    job = repo / "jobs" / "secret-probe"
    (job / "requirements.txt").write_text(
        f"--extra-index-url http://${{INDEX_USER}}:${{INDEX_TOKEN}}@127.0.0.1:{index.port}/simple/\n"
        "racetrack-secret-probe==1.0\n"
    )
    commit_all(repo, "requirements")
    (job / ".env.build").write_text(f"INDEX_USER={user}\nINDEX_TOKEN='{token}'\n")  # git-ignored
    built = build_image(load_manifest(job, [f"git.remote={repo}"]), "git")
    yield built, index, (user, token)
    index.server.shutdown()


def test_the_secret_was_used_to_install_from_the_private_index(secret_build, run_image):
    built, index, _ = secret_build
    assert index.authorized >= 2  # the project page and the wheel, both with the secret credentials
    assert run_image(built.tag).post("/api/v1/perform", {}).json() == "installed with the secret"


def test_secrets_are_in_no_layer_history_config_or_log(secret_build, engine):
    built, _, values = secret_build
    needles = [value.encode() for value in values]
    saved = io.BytesIO(b"".join(engine.images.get(built.tag).save(named=True)))
    scanned, control = 0, b"installed with the secret"  # the installed package's text: must be found
    found_control = False
    with tarfile.open(fileobj=saved) as image:
        for member in image.getmembers():
            if not member.isfile():
                continue
            data = image.extractfile(member).read()
            if member.name.endswith("layer.tar"):
                with tarfile.open(fileobj=io.BytesIO(data)) as layer:
                    for entry in layer.getmembers():
                        if entry.isfile():
                            content = layer.extractfile(entry).read()
                            assert not any(n in content for n in needles), (
                                f"secret in {member.name}:{entry.name}"
                            )
                            found_control |= control in content
                            scanned += 1
            assert not any(n in data for n in needles), f"secret in {member.name}"
    assert scanned > 1000 and found_control  # every layer's files were read, the job venv's included
    history = json.dumps(engine.images.get(built.tag).history())  # what `docker history --no-trunc` shows
    inspect = json.dumps(engine.images.get(built.tag).attrs)
    log = built.log_path.read_text()
    for value in values:
        assert value not in history and value not in inspect and value not in log
    assert "pip install" in log  # the log is the real build's, with the step that used the secret


def test_no_image_of_the_build_keeps_the_build_server_address_or_the_pip_settings(secret_build, engine):
    """Dangling stage images stay on the engine as the layer cache: the requirements stage's among them."""
    built, _, values = secret_build
    log = built.log_path.read_text()
    created = IMAGE_LINE.findall(log)
    assert len(created) > 5
    for image_id in created:
        history = json.dumps(engine.images.get(image_id).history())
        for needle in ("RACETRACK_SECRETS_URL", "/secrets/", "FTP_PROXY", "/env/", "pip.conf", *values):
            assert needle not in history, f"{needle!r} in the history of {image_id}"
    requirements_stage = step_image(log, "pip install")
    assert requirements_stage not in {step["Id"] for step in engine.images.get(built.tag).history()}
    config = engine.images.get(requirements_stage).attrs["Config"]
    assert not [entry for entry in config["Env"] if entry.startswith("PIP_")]
    listing = engine.containers.run(requirements_stage, ["ls", "/opt/racetrack-build"], remove=True)
    assert sorted(listing.decode().split()) == ["ca.crt", "pip", "secret_exec.py"]  # no pip.conf


IMAGE_LINE = re.compile(r"^ ---> ([0-9a-f]{12})$", re.MULTILINE)


def step_image(log: str, needle: str) -> str:
    """The id of the image made by the Dockerfile step whose line contains `needle`."""
    step = next(line for line in log.splitlines() if line.startswith("Step ") and needle in line)
    return IMAGE_LINE.search(log, log.index(step)).group(1)
