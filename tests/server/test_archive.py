"""Build context safety: what an uploaded tar.gz may and may not write."""

from __future__ import annotations

import base64
import io
import tarfile
from pathlib import Path

import pytest

from racetrack.server.archive import ContextRefused, unpack_context


def encode(*members: tuple[tarfile.TarInfo, bytes | None]) -> str:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return base64.b64encode(buffer.getvalue()).decode()


def file(name: str, data: bytes = b"x", mode: int = 0o644) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.mode = mode
    return info, data


def link(name: str, target: str, hard: bool = False) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = tarfile.LNKTYPE if hard else tarfile.SYMTYPE
    info.linkname = target
    return info, None


def test_regular_files_directories_and_inner_links_are_written(tmp_path: Path) -> None:
    encoded = encode(
        file("a.py", b"print(1)"),
        file("pkg/b.py", b"b", 0o755),
        link("c.py", "a.py"),
        link("pkg/d.py", "pkg/b.py", hard=True),
    )
    assert unpack_context(encoded, tmp_path / "ws", 1000) == 4
    assert (tmp_path / "ws/a.py").read_bytes() == b"print(1)"
    assert (tmp_path / "ws/pkg/b.py").stat().st_mode & 0o111
    assert (tmp_path / "ws/c.py").read_text() == "print(1)"
    assert (tmp_path / "ws/pkg/d.py").read_text() == "b"


@pytest.mark.parametrize(
    ("members", "reason"),
    [
        ((file("../evil.py"),), "contains '..'"),
        ((file("a/../../evil.py"),), "contains '..'"),
        ((file("/etc/evil"),), "absolute path"),
        ((link("out", "/etc/passwd"),), "outside the job directory"),
        ((link("out", "../../etc"),), "outside the job directory"),
        ((link("out", "../x", hard=True),), "contains '..'"),
    ],
)
def test_entries_reaching_out_are_refused_and_nothing_is_written(
    tmp_path: Path, members: tuple, reason: str
) -> None:
    with pytest.raises(ContextRefused, match=reason):
        unpack_context(encode(*members), tmp_path / "ws", 1000)
    assert not (tmp_path / "ws").exists()
    assert not (tmp_path / "evil.py").exists()


def test_writing_through_an_inner_link_to_outside_is_refused(tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    encoded = encode(link("dir", "sub"), file("sub/x", b"1"))
    unpack_context(encoded, tmp_path / "ok", 1000)  # a link to an inner directory is fine
    with pytest.raises(ContextRefused):
        unpack_context(encode(link("dir", "../outside"), file("dir/x")), tmp_path / "ws", 1000)
    assert list((tmp_path / "outside").iterdir()) == []


def test_devices_and_fifos_are_refused(tmp_path: Path) -> None:
    info = tarfile.TarInfo("fifo")
    info.type = tarfile.FIFOTYPE
    with pytest.raises(ContextRefused, match="device, FIFO"):
        unpack_context(encode((info, None)), tmp_path / "ws", 1000)


def test_oversized_decompressed_content_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ContextRefused, match="bigger than 1000 bytes"):
        unpack_context(encode(file("big", b"0" * 2000)), tmp_path / "ws", 1000)


@pytest.mark.parametrize(
    ("encoded", "reason"),
    [("not base64!!", "not valid base64"), (base64.b64encode(b"garbage").decode(), "not a readable tar.gz")],
)
def test_corrupt_contexts_are_refused_saying_why(tmp_path: Path, encoded: str, reason: str) -> None:
    with pytest.raises(ContextRefused, match=reason):
        unpack_context(encoded, tmp_path / "ws", 1000)
