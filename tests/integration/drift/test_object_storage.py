"""Reference, profile and window in S3-compatible object storage (moto), as a cluster job sees them."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from mlpy.cli.main import main
from mlpy.drift.locations import fetch, upload

pytestmark = pytest.mark.integration


def _put_parquet(url: str, frame: pd.DataFrame) -> None:
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    upload(url, buffer.getvalue())


def test_profile_and_check_through_s3(
    s3_bucket: str, frames: tuple[pd.DataFrame, pd.DataFrame], capsys: pytest.CaptureFixture[str]
) -> None:
    reference, current = frames
    base = f"s3://{s3_bucket}/drift"
    _put_parquet(f"{base}/reference.parquet", reference)
    _put_parquet(f"{base}/current.parquet", current)
    upload(f"{base}/current.csv", current.to_csv(index=False).encode())
    assert main(["drift", "profile", "-r", f"{base}/reference.parquet", "--out", f"{base}/profile"]) == 0
    assert fetch(f"{base}/profile.npz")[:2] == b"PK"  # a zip archive: the .npz
    capsys.readouterr()
    for window in ("current.parquet", "current.csv"):
        code = main(["drift", "check", "-p", f"{base}/profile.npz", "-c", f"{base}/{window}", "-o", "json"])
        assert code == 0
        report = json.loads(capsys.readouterr().out)
        assert report["features"]["x"]["drifted"] is True
        assert report["current"]["source"] == f"{base}/{window}"


def test_missing_object_is_a_one_line_error(s3_bucket: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["drift", "check", "-p", f"s3://{s3_bucket}/nope.npz", "-c", f"s3://{s3_bucket}/x.parquet"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("error: no such file")
    assert err.count("\n") == 1
