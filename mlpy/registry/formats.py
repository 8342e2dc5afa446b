"""Model serialisation: skops by default (loading runs no code), joblib/pickle only when trusted."""

from __future__ import annotations

import io
import pickle
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Any

from mlpy.registry.errors import InvalidInputError, UntrustedFormatError

# Types in these packages are rebuilt by skops from data, never by running code the file carries.
TRUSTED_PREFIXES = ("sklearn.",)


class ArtifactFormat(StrEnum):
    skops = "skops"
    joblib = "joblib"
    pickle = "pickle"

    @property
    def filename(self) -> str:
        return {"skops": "model.skops", "joblib": "model.joblib", "pickle": "model.pkl"}[self.value]

    @property
    def runs_code_on_load(self) -> bool:
        return self is not ArtifactFormat.skops


EXTENSIONS = {
    ".skops": ArtifactFormat.skops,
    ".joblib": ArtifactFormat.joblib,
    ".pkl": ArtifactFormat.pickle,
    ".pickle": ArtifactFormat.pickle,
}


def parse_format(value: str | ArtifactFormat) -> ArtifactFormat:
    try:
        return ArtifactFormat(value)
    except ValueError as exc:
        raise InvalidInputError(
            f"unknown artifact format {value!r}", hint="use skops, joblib or pickle"
        ) from exc


def format_of(path: Path) -> ArtifactFormat:
    try:
        return EXTENSIONS[path.suffix.lower()]
    except KeyError as exc:
        raise InvalidInputError(
            f"cannot tell the format of {path.name}",
            hint="use a .skops, .joblib, .pkl or .pickle file",
        ) from exc


def dump(model: Any, fmt: ArtifactFormat) -> bytes:
    """The model's bytes; skops archives are canonical, so one model always gives one SHA-256."""
    if fmt is ArtifactFormat.skops:
        import skops.io

        from mlpy.registry.canonical import canonical_skops

        return canonical_skops(bytes(skops.io.dumps(model)))
    if fmt is ArtifactFormat.joblib:
        import joblib

        buffer = io.BytesIO()
        joblib.dump(model, buffer)
        return buffer.getvalue()
    return pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)


def load(
    data: bytes,
    fmt: ArtifactFormat,
    *,
    trust_pickle: bool = False,
    trusted_types: Iterable[str] = (),
) -> Any:
    """Rebuild a model; refuses anything that would run code the caller did not trust."""
    if fmt is ArtifactFormat.skops:
        import skops.io

        try:
            found = skops.io.get_untrusted_types(data=data)
        except Exception as exc:
            raise InvalidInputError(f"not a valid skops file: {exc}") from exc
        allowed = set(trusted_types)
        refused = [name for name in found if name not in allowed and not name.startswith(TRUSTED_PREFIXES)]
        if refused:
            raise UntrustedFormatError(
                f"the skops file contains types that are not trusted: {', '.join(sorted(refused))}",
                hint="review them and pass them as trusted types if they are safe",
            )
        try:
            return skops.io.loads(data, trusted=found)
        except Exception as exc:
            raise InvalidInputError(f"not a valid skops file: {exc}") from exc
    if not trust_pickle:
        raise UntrustedFormatError(
            f"{fmt.value} files can run arbitrary code when loaded",
            hint="pass trust_pickle=True (--trust-pickle) only for files you produced, or use skops",
        )
    try:
        if fmt is ArtifactFormat.joblib:
            import joblib

            return joblib.load(io.BytesIO(data))
        return pickle.loads(data)
    except Exception as exc:
        raise InvalidInputError(f"not a valid {fmt.value} file: {exc}") from exc
