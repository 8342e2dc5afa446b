"""Artifact storage behind fsspec URLs: a local folder, ``s3://`` buckets, read-only ``http(s)://``.

Every artifact gets a fresh folder (``<root>/<model>/<uuid>/``) so nothing is ever overwritten, and
a local write lands under a temporary name first, so a reader never sees half a file.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlpy.registry.errors import ArtifactError

if TYPE_CHECKING:
    from fsspec.spec import AbstractFileSystem

READ_ONLY_SCHEMES = {"http", "https"}
CHUNK = 1 << 20


def storage_options(url: str) -> dict[str, Any]:
    """Options fsspec needs for ``url``: an S3-compatible endpoint from ``MLPY_S3_ENDPOINT_URL``."""
    if url.startswith(("s3://", "s3a://")):
        endpoint = os.environ.get("MLPY_S3_ENDPOINT_URL")
        if endpoint:
            return {"client_kwargs": {"endpoint_url": endpoint}}
    return {}


def scheme_of(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else "file"


def filesystem(url: str) -> tuple[AbstractFileSystem, str]:
    import fsspec  # here: the registry's commands that touch no artifact start without it

    try:
        fs, path = fsspec.core.url_to_fs(url, **storage_options(url))
    except (ImportError, ValueError) as exc:
        raise ArtifactError(
            f"cannot use artifact location {url!r}: {exc}",
            hint="for s3:// install 'mlpy[s3]'; local folders and http(s):// need nothing",
        ) from exc
    return fs, path


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_artifact(uri: str) -> bytes:
    """The artifact's bytes, from any location fsspec can open."""
    fs, path = filesystem(uri)
    try:
        with fs.open(path, "rb") as handle:
            chunks = []
            while chunk := handle.read(CHUNK):
                chunks.append(chunk)
            return b"".join(chunks)
    except FileNotFoundError as exc:
        raise ArtifactError(
            f"artifact {uri} does not exist", hint="it was deleted or moved; verify the version"
        ) from exc
    except OSError as exc:
        raise ArtifactError(f"cannot read artifact {uri}: {exc}") from exc


def delete_artifact(uri: str) -> None:
    """Remove an artifact with its own folder (each artifact has one); a missing one is fine."""
    fs, path = filesystem(uri)
    folder = path.rsplit("/", 1)[0]
    try:
        if fs.exists(folder):
            fs.rm(folder, recursive=True)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ArtifactError(
            f"cannot delete artifact {uri}: {exc}", hint="run 'mlpy registry gc' again"
        ) from exc


class ArtifactStore:
    """Where new artifacts are written: one root URL."""

    def __init__(self, root: str) -> None:
        if scheme_of(root) == "file" and "://" not in root:
            root = str(Path(root).expanduser().resolve())
        self.root = root.rstrip("/")
        self.scheme = scheme_of(self.root)
        # A remote root is checked now (a missing s3fs says so at once); a local folder needs fsspec
        # only when an artifact is written or checked, so commands that touch none start faster.
        self._fs = None if self.scheme == "file" else filesystem(self.root)[0]

    @property
    def fs(self) -> AbstractFileSystem:
        if self._fs is None:
            self._fs = filesystem(self.root)[0]
        return self._fs

    @property
    def writable(self) -> bool:
        return self.scheme not in READ_ONLY_SCHEMES

    def new_uri(self, model: str, filename: str) -> str:
        return f"{self.root}/{model}/{uuid.uuid4().hex}/{filename}"

    def _path(self, uri: str) -> str:
        return filesystem(uri)[1]

    def write(self, uri: str, data: bytes) -> None:
        if not self.writable:
            raise ArtifactError(
                f"artifact location {self.root} is read-only",
                hint="register into a local folder or s3:// (set --artifacts or MLPY_ARTIFACTS)",
            )
        path = self._path(uri)
        try:
            if self.scheme == "file":
                self._write_local(Path(path), data)
            else:
                # One PUT: object stores publish an object whole or not at all.
                self.fs.pipe_file(path, data)
        except OSError as exc:
            raise ArtifactError(f"cannot write artifact {uri}: {exc}") from exc

    @staticmethod
    def _write_local(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        with open(partial, "xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)

    def delete(self, uri: str) -> None:
        delete_artifact(uri)

    def exists(self, uri: str) -> bool:
        return bool(self.fs.exists(self._path(uri)))

    def owns(self, uri: str) -> bool:
        return uri.startswith(self.root + "/")
