"""Files that live elsewhere: reading and writing ``s3://``, ``gs://``, ``https://``... through fsspec.

Drift jobs in a cluster find their reference, profile and window in object storage; the same
``MLPY_S3_ENDPOINT_URL`` as the registry's artifacts points them at an S3-compatible server.
"""

from __future__ import annotations

from pathlib import Path

from mlpy.drift.errors import DataReadError, DriftError


def is_remote(location: str | Path) -> bool:
    text = str(location)
    return "://" in text and not text.startswith("file://")


def local_path(location: str | Path) -> Path:
    text = str(location)
    return Path(text[len("file://") :]) if text.startswith("file://") else Path(text)


def fetch(location: str) -> bytes:
    """The whole object, decompressed when its name says so (``.gz``, ``.bz2``, ``.zst``)."""
    import fsspec

    from mlpy.registry import storage_options

    try:
        with fsspec.open(location, "rb", compression="infer", **storage_options(location)) as handle:
            data: bytes = handle.read()
            return data
    except FileNotFoundError as exc:
        raise DataReadError(f"no such file: {location!r}", hint="check the URL and the bucket") from exc
    except (OSError, ImportError, ValueError) as exc:
        raise DataReadError(
            f"cannot read {location!r}: {exc}",
            hint="for s3:// install 'mlpy[s3]' and check credentials and MLPY_S3_ENDPOINT_URL",
        ) from exc


def upload(location: str, data: bytes) -> None:
    import fsspec

    from mlpy.registry import storage_options

    try:
        with fsspec.open(location, "wb", **storage_options(location)) as handle:
            handle.write(data)
    except (OSError, ImportError, ValueError) as exc:
        raise DriftError(
            f"cannot write {location!r}: {exc}",
            hint="for s3:// install 'mlpy[s3]' and check credentials and MLPY_S3_ENDPOINT_URL",
        ) from exc
