"""Unpack an uploaded build context (untrusted base64 tar.gz) into a workspace, or refuse it saying why."""

from __future__ import annotations

import base64
import binascii
import io
import os
import shutil
import tarfile
from pathlib import Path, PurePosixPath

from racetrack.server.errors import BadRequest

MAX_MEMBERS = 20000
_CHUNK = 1 << 20


class ContextRefused(BadRequest):
    """The build context is corrupt, too big, or reaches outside its workspace."""


def unpack_context(encoded: str, workspace: Path, max_bytes: int) -> int:
    """Extract the base64 tar.gz `encoded` into `workspace` (which must be empty); the number of files.

    Only regular files, directories and links that stay inside the workspace are written."""
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ContextRefused(f"build_context is not valid base64: {error}") from None
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:*") as archive:
            return _extract(archive, workspace, max_bytes)
    except (tarfile.TarError, EOFError, OSError, ValueError) as error:
        shutil.rmtree(workspace, ignore_errors=True)
        raise ContextRefused(f"build_context is not a readable tar.gz archive: {error}") from None
    except ContextRefused:
        shutil.rmtree(workspace, ignore_errors=True)
        raise


def _extract(archive: tarfile.TarFile, workspace: Path, max_bytes: int) -> int:
    workspace.mkdir(parents=True, exist_ok=True)
    root = workspace.resolve()
    total = files = 0
    for count, member in enumerate(archive, start=1):
        if count > MAX_MEMBERS:
            raise ContextRefused(
                f"build context has more than {MAX_MEMBERS} entries; leave out generated files"
            )
        relative = _safe_name(member.name)
        if relative is None:
            continue
        target = root / relative
        if not target.parent.resolve().is_relative_to(root):
            raise ContextRefused(
                f"build context entry {member.name!r} goes through a link out of the workspace"
            )
        if member.isdir():
            target.mkdir(parents=True, exist_ok=True)
        elif member.isfile():
            total += member.size
            if total > max_bytes:
                raise ContextRefused(
                    f"build context is bigger than {max_bytes} bytes decompressed; leave out data files "
                    "(list them in .gitignore) or deploy with --build-context git"
                )
            target.parent.mkdir(parents=True, exist_ok=True)
            _write(archive, member, target, max_bytes - (total - member.size))
            files += 1
        elif member.issym() or member.islnk():
            _link(member, relative, root, target)
            files += 1
        else:
            raise ContextRefused(
                f"build context entry {member.name!r} is a device, FIFO or other special file; only files, "
                "directories and links inside the job directory are accepted"
            )
    return files


def _safe_name(name: str) -> PurePosixPath | None:
    """The entry's relative path; refused when absolute or with '..'; None for the root itself."""
    path = PurePosixPath(name)
    if path.is_absolute() or name.startswith(("/", "\\")):
        raise ContextRefused(f"build context entry {name!r} has an absolute path; paths must be relative")
    if ".." in path.parts:
        raise ContextRefused(
            f"build context entry {name!r} contains '..'; entries must stay in the job directory"
        )
    if "\0" in name:
        raise ContextRefused(f"build context entry {name!r} contains a NUL character")
    parts = [part for part in path.parts if part not in ("", ".")]
    return PurePosixPath(*parts) if parts else None


def _write(archive: tarfile.TarFile, member: tarfile.TarInfo, target: Path, budget: int) -> None:
    source = archive.extractfile(member)
    if source is None:
        raise ContextRefused(f"build context entry {member.name!r} cannot be read")
    written = 0
    if target.is_symlink() or target.exists():
        target.unlink()
    with source, open(target, "xb") as out:
        while chunk := source.read(_CHUNK):
            written += len(chunk)
            if written > budget:
                raise ContextRefused("build context is bigger than the server accepts decompressed")
            out.write(chunk)
    os.chmod(target, 0o755 if member.mode & 0o111 else 0o644)


def _link(member: tarfile.TarInfo, relative: PurePosixPath, root: Path, target: Path) -> None:
    """A symlink or hard link whose target stays inside the workspace (a hard link is copied)."""
    if member.issym():
        pointed = PurePosixPath(member.linkname)
        resolved = os.path.normpath(root / relative.parent / pointed) if not pointed.is_absolute() else "/"
    else:
        linked = _safe_name(member.linkname)
        resolved = os.path.normpath(root / linked) if linked is not None else str(root)
    if not Path(resolved).is_relative_to(root) or Path(resolved) == root:
        raise ContextRefused(
            f"build context entry {member.name!r} links to {member.linkname!r}, outside the job directory"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    if member.issym():
        target.symlink_to(member.linkname)
    elif Path(resolved).is_file() and not Path(resolved).is_symlink():
        shutil.copyfile(resolved, target)
    else:
        raise ContextRefused(f"build context entry {member.name!r} is a hard link to a missing file")
