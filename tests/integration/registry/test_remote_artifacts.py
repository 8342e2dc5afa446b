"""Artifacts on an S3-compatible server (moto in server mode) and read-only over HTTP."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from sklearn.linear_model import LinearRegression

from mlpy.registry import ArtifactError, ArtifactIntegrityError, ModelRegistry, load_verified

pytestmark = pytest.mark.integration


def _model() -> LinearRegression:
    return LinearRegression().fit([[0.0], [1.0], [2.0]], [1.0, 3.0, 5.0])


def test_s3_register_load_verify_and_gc(sqlite_url: str, s3_bucket: str, s3_endpoint: str) -> None:
    registry = ModelRegistry(sqlite_url, f"s3://{s3_bucket}/models")
    first = registry.register("s3model", _model())
    second = registry.register("s3model", _model())
    assert first.artifact_uri.startswith(f"s3://{s3_bucket}/models/s3model/")
    assert registry.load("s3model", 1).predict([[3.0]])[0] == pytest.approx(7.0)
    assert registry.verify("s3model", 2).ok

    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    key = second.artifact_uri.removeprefix(f"s3://{s3_bucket}/")
    s3.put_object(Bucket=s3_bucket, Key=key, Body=b"overwritten behind the registry's back")
    with pytest.raises(ArtifactIntegrityError, match=second.sha256):
        registry.load("s3model", 2)
    assert not registry.verify("s3model", 2).ok

    registry.gc("s3model", keep=1)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=s3_bucket).get("Contents", [])]
    assert keys == [key]


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    folder = tmp_path / "served"
    folder.mkdir()
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", folder
    finally:
        server.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return


def test_http_artifacts_load_by_uri_and_are_read_only(
    sqlite_url: str, tmp_path: Path, http_root: tuple[str, Path]
) -> None:
    base, folder = http_root
    local = ModelRegistry(sqlite_url, str(tmp_path / "artifacts"))
    version = local.register("web", _model())
    (folder / "model.skops").write_bytes(Path(version.artifact_uri).read_bytes())
    loaded = load_verified(f"{base}/model.skops", version.sha256, "skops")
    assert loaded.predict([[1.0]])[0] == pytest.approx(3.0)
    with pytest.raises(ArtifactIntegrityError):
        load_verified(f"{base}/model.skops", "0" * 64, "skops")
    with pytest.raises(ArtifactError, match="does not exist"):
        load_verified(f"{base}/missing.skops", version.sha256, "skops")
    read_only = ModelRegistry(sqlite_url, base)
    with pytest.raises(ArtifactError, match="read-only"):
        read_only.register("web", _model())
    assert read_only.search_versions("web").total == 1  # nothing half-registered
