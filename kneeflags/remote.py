"""Inputs named by URL (``file://``, ``s3://``, ...), read through ``fsspec`` on the worker.

A Dask worker may not see the client's disk: a platform keeps its athletes' files on a
shared or object store, and the manifest names them by URL. Local paths (and
``file://`` URLs, which are local paths) go straight to :mod:`kneeflags.sources` and its
hardened readers. Any other URL is copied through fsspec into a private temporary folder
(bounded by :data:`~kneeflags.sources.MAX_MEMBER_BYTES` per file), read there with the
same readers, and every path the report shows is mapped back to the URL, so a report
names ``s3://bucket/a/run.fit`` rather than a temporary file, and is the same whichever
worker read it.

fsspec is part of the ``kneeflags[dask]`` extra; ``s3://`` also needs ``s3fs``. Without
them a URL is that athlete's one-line error, never a crash.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import field

from kneeflags.manifest import is_url
from kneeflags.parsers.common import exception_line
from kneeflags.records import record

_GLOB = ("*", "?", "[")


@record
class Staged:
    """Local paths to read, and (local prefix, URL prefix) pairs to map names back."""

    paths: list[str] = field(default_factory=list)
    renames: list[tuple[str, str]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    """(URL, one-line reason) of URLs that could not be fetched."""

    def public(self, path: str) -> str:
        """The name a user gave for a staged local path."""
        for local, url in self.renames:
            if path == local or path.startswith(local + os.sep):
                return url + path[len(local) :].replace(os.sep, "/")
        return path

    def public_text(self, text: str) -> str:
        """``text`` with every staged local path in it named by its URL."""
        for local, url in self.renames:
            if local in text:
                text = text.replace(local + os.sep, url + "/").replace(local, url)
        return text


@contextlib.contextmanager
def staged_inputs(paths: Sequence[str]) -> Iterator[Staged]:
    """Local paths for ``paths``; remote files live in a temporary folder for the block."""
    out = Staged()
    tmp: str | None = None
    try:
        for path in paths:
            if not is_url(path):
                out.paths.append(path)
                continue
            try:
                fs, stripped = _filesystem(path)
            except Exception as exc:
                out.errors.append((path, _reason(exc)))
                continue
            if _is_local(fs):
                out.paths.append(stripped)
                continue
            if tmp is None:
                tmp = tempfile.mkdtemp(prefix="kneeflags-fetch-")
            # "u1_" is no prefix of "u10_": one URL's folder never claims another's files
            folder = os.path.join(tmp, f"u{len(out.renames)}_")
            try:
                local, url = _fetch(fs, path, stripped, folder, out.errors)
            except Exception as exc:
                out.errors.append((path, _reason(exc)))
                continue
            out.paths.append(local)
            out.renames.append((local, url))
        yield out
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def _filesystem(url: str) -> tuple[object, str]:
    try:
        from fsspec.core import url_to_fs
    except ImportError:
        raise RuntimeError("reading URLs needs fsspec: pip install 'kneeflags[dask]'") from None
    return url_to_fs(url)


def _is_local(fs: object) -> bool:
    from fsspec.implementations.local import LocalFileSystem

    return isinstance(fs, LocalFileSystem)


def _fetch(
    fs: object, url: str, path: str, folder: str, errors: list[tuple[str, str]]
) -> tuple[str, str]:
    """Copy one file, a folder's files, or a glob's matches under ``folder``.

    Returns (the local path to read, the URL it stands for): a file keeps its name (the
    readers go by its extension), a folder or a glob keeps its layout below its root. A
    file of a folder or glob that cannot be copied goes to ``errors`` (its URL, why) and
    the others are still read, as for a local folder.
    """
    from kneeflags.sources import MAX_MEMBER_BYTES

    os.makedirs(folder, exist_ok=True)
    globbed = [ch for ch in _GLOB if ch in path]
    if globbed:
        cut = min(path.find(ch) for ch in globbed)
        root = path[:cut].rsplit("/", 1)[0]
        url_root = url[: min(url.find(ch) for ch in globbed if ch in url)].rsplit("/", 1)[0]
        found = sorted(p for p in fs.glob(path) if fs.isfile(p))  # type: ignore[attr-defined]
        if not found:
            raise FileNotFoundError("no files match this pattern")
    elif fs.isdir(path):  # type: ignore[attr-defined]
        root, url_root = path.rstrip("/"), url.rstrip("/")
        found = sorted(fs.find(path))  # type: ignore[attr-defined]
    elif fs.isfile(path):  # type: ignore[attr-defined]
        name = "".join(c for c in path.rsplit("/", 1)[-1] if c not in "\\/") or "input"
        local = os.path.join(folder, name if name not in (".", "..") else "input")
        _copy(fs, path, local, MAX_MEMBER_BYTES)
        return local, url
    else:
        raise FileNotFoundError("no such file or directory")
    for remote in found:
        rel = remote[len(root) :].lstrip("/")
        parts = [p for p in rel.split("/") if p not in ("", ".", "..")]
        target = os.path.join(folder, *parts)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        try:
            _copy(fs, remote, target, MAX_MEMBER_BYTES)
        except Exception as exc:  # one file, not the folder
            errors.append((f"{url_root}/{'/'.join(parts)}", _reason(exc)))
            with contextlib.suppress(OSError):
                os.remove(target)
    return folder, url_root


def _copy(fs: object, remote: str, target: str, cap: int) -> None:
    size = fs.size(remote)  # type: ignore[attr-defined]
    if size is not None and size > cap:
        raise ValueError(f"{remote}: larger than {cap >> 20} MiB")
    with fs.open(remote, "rb") as src, open(target, "wb") as dst:  # type: ignore[attr-defined]
        copied = 0
        while chunk := src.read(1 << 20):
            copied += len(chunk)
            if copied > cap:
                raise ValueError(f"{remote}: larger than {cap >> 20} MiB")
            dst.write(chunk)


def _reason(exc: BaseException) -> str:
    return exception_line(exc, 200)


__all__ = ["Staged", "staged_inputs"]
