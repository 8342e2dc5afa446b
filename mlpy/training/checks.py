"""The checks a job passes before anything runs or is queued: the entry point imports and is callable,
and each input is CSV or Parquet that exists. A failure is one line naming what to fix."""

from __future__ import annotations

from mlpy.registry import filesystem
from mlpy.training.entry import load_entry_point
from mlpy.training.errors import TrainingDataError
from mlpy.training.inputs import check_readable_kind
from mlpy.training.spec import TrainingSpec


def preflight(spec: TrainingSpec, *, import_code: bool = True, probe_data: bool = True) -> None:
    """``import_code=False`` where the code lives only in the job's image (a Kubernetes Job);
    ``probe_data=False`` where only the job can reach the data."""
    if import_code:
        load_entry_point(spec.entry_point)
    for name, uri in spec.data.items():
        check_readable_kind(uri)
        if probe_data:
            _exists(name, uri)


def _exists(name: str, uri: str) -> None:
    try:
        fs, path = filesystem(uri)  # the registry's: fsspec with the S3 endpoint of MLPY_S3_ENDPOINT_URL
        found = fs.exists(path)
    except Exception as exc:
        raise TrainingDataError(
            f"cannot reach data {name} ({uri}): {type(exc).__name__}: {' '.join(str(exc).split())}",
            hint="check the URL, the credentials and MLPY_S3_ENDPOINT_URL",
        ) from exc
    if not found:
        raise TrainingDataError(f"data {name} ({uri}) does not exist", hint="check the path or URL")
