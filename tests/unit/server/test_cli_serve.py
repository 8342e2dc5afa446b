"""``mlpy serve``: one-line errors for bad options, the key hasher, and a real server process."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from localk8s import free_port
from mlpy.cli.main import main
from mlpy.registry import ModelRegistry
from tests.unit.server.conftest import STANDARD_SERIES

MLPY = str(Path(sys.executable).with_name("mlpy"))


def test_hash_key_prints_the_sha256(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--hash-key", "s3cret"]) == 0
    assert capsys.readouterr().out.strip() == hashlib.sha256(b"s3cret").hexdigest()


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["serve"], 1, "error: nothing to serve"),
        (["serve", "--model", "bad name"], 1, "error: invalid model name 'bad name'"),
        (["serve", "--model", "m", "--port", "70000"], 2, "error: Invalid value for '--port'"),
        (["serve", "--model", "m", "--log-level", "loud"], 2, "error: Invalid value"),
        (["serve", "--experiment", "exp.yaml"], 1, "error: cannot read experiment file exp.yaml"),
    ],
)
def test_bad_options_are_one_line_errors(
    argv: list[str],
    code: int,
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("MLPY_SERVE_MODELS", "MLPY_MODEL_URI", "MLPY_EXPERIMENT", "MLPY_API_KEYS"):
        monkeypatch.delenv(name, raising=False)
    assert main(argv) == code
    err = capsys.readouterr().err
    assert err.startswith(message), err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_malformed_environment_is_a_one_line_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLPY_API_KEYS", "ops:admin:not-a-hash")
    assert main(["serve", "--model", "m"]) == 1
    assert "must be given as its SHA-256 hex digest" in capsys.readouterr().err
    monkeypatch.setenv("MLPY_API_KEYS", "")
    monkeypatch.setenv("MLPY_MAX_BODY_BYTES", "lots")
    assert main(["serve", "--model", "m"]) == 1
    assert "error: MLPY_MAX_BODY_BYTES='lots' is not an integer" in capsys.readouterr().err


def test_a_real_server_process_serves_a_registered_model(
    registry: ModelRegistry, tmp_path: Path, unused_port: int
) -> None:
    env = {
        **os.environ,
        "MLPY_STORE": registry.store.url,
        "MLPY_ARTIFACTS": registry.artifacts.root,
    }
    process = subprocess.Popen(
        [MLPY, "serve", "--model", "lin:2", "--port", str(unused_port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{unused_port}"
        wait_ready(process, url, 60)
        answer = httpx.post(f"{url}/predict", json={"features": [1, 1, 1]}).json()
        assert answer["model"] == "lin"
        assert answer["version"] == "2"
    finally:
        process.terminate()
        process.wait(20)
    # One log format: uvicorn's own lines are JSON objects too, like mlpy's.
    assert process.stdout is not None
    lines = [line for line in process.stdout.read().decode().splitlines() if line.strip()]
    loggers = {json.loads(line)["logger"] for line in lines}  # every line parses
    assert {"uvicorn.error"} <= loggers


def test_two_workers_report_every_request_in_metrics(
    registry: ModelRegistry, tmp_path: Path, unused_port: int
) -> None:
    """Whichever worker answers the scrape, /metrics counts the requests both workers served; the
    workers share the gRPC port as they share the HTTP one."""
    import numpy as np
    import tritonclient.grpc as triton

    from mlpy.cli.serve import THREAD_VARIABLES, usable_cores

    unset = {"PROMETHEUS_MULTIPROC_DIR", *THREAD_VARIABLES}  # the server sets them for its workers
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env.update({"MLPY_STORE": registry.store.url, "MLPY_ARTIFACTS": registry.artifacts.root})
    grpc_port = free_port()
    process = subprocess.Popen(
        [
            MLPY,
            "serve",
            "--model",
            "lin",
            "--port",
            str(unused_port),
            "--workers",
            "2",
            "--grpc-port",
            str(grpc_port),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{unused_port}"
    try:
        wait_ready(process, url, 90)
        # Each worker loads before it accepts, so once one answers /readyz every accepted request is served.
        for _ in range(120):
            with httpx.Client() as client:  # a new connection: the kernel spreads them over both workers
                assert client.post(f"{url}/predict", json={"features": [1, 1, 1]}).status_code == 200
        totals = set()
        for _ in range(6):
            with httpx.Client() as client:
                text = client.get(f"{url}/metrics").text
            totals.add(
                sum(
                    float(line.rsplit(" ", 1)[1])
                    for line in text.splitlines()
                    if line.startswith("mlpy_requests_total{") and 'endpoint="/predict"' in line
                )
            )
        assert totals == {120.0}
        for name in STANDARD_SERIES:  # the answering worker's own process and interpreter series
            assert f"\n{name}" in text, name
        for _ in range(10):  # new channels: the kernel spreads them over both workers
            tensor = triton.InferInput("input-0", [1, 3], "FP64")
            tensor.set_data_from_numpy(np.ones((1, 3)))
            result = triton.InferenceServerClient(f"127.0.0.1:{grpc_port}").infer("lin", [tensor])
            assert result.as_numpy("predict").shape == (1,)
        # Each worker process started with its share of the cores in its thread pools' variables.
        share = str(max(1, usable_cores() // 2))
        workers = worker_environments(process.pid)
        assert len(workers) == 2, workers
        for environment in workers:
            assert {name: environment.get(name) for name in THREAD_VARIABLES} == dict.fromkeys(
                THREAD_VARIABLES, share
            )
    finally:
        os.killpg(process.pid, 15)
        process.wait(30)


def worker_environments(parent: int) -> list[dict[str, str]]:
    """The environment each worker process of the server ``parent`` started with (uvicorn spawns
    them: ``multiprocessing.spawn`` in their command line), read from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and b"spawn_main" in command:
            pairs = (item.split(b"=", 1) for item in environ.split(b"\0") if b"=" in item)
            found.append({key.decode(): value.decode() for key, value in pairs})
    return found


def wait_ready(process: subprocess.Popen[bytes], url: str, timeout_s: float) -> None:
    """Until /readyz answers 200; a server process that exits first fails with its output."""
    deadline = time.monotonic() + timeout_s
    while True:
        assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
        try:
            if httpx.get(f"{url}/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "server did not become ready"
        time.sleep(0.2)


@pytest.fixture
def unused_port() -> int:
    return free_port()


def test_workers_share_the_cores_between_their_thread_pools(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlpy.cli.serve import THREAD_VARIABLES, share_cores_between_workers

    for name in THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "3")  # the caller's choice stands
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: set(range(8)))
    share_cores_between_workers(4)
    assert (os.environ["OMP_NUM_THREADS"], os.environ["OPENBLAS_NUM_THREADS"]) == ("2", "2")
    assert os.environ["MKL_NUM_THREADS"] == "3"
    monkeypatch.delenv("OMP_NUM_THREADS")
    share_cores_between_workers(16)
    assert os.environ["OMP_NUM_THREADS"] == "1"


def fake_cgroup(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, membership: str, files: dict[str, str]
) -> None:
    """A /proc/self/cgroup reading ``membership`` and a cgroup tree holding ``files``; 32 cores."""
    import mlpy.cli.serve as serve_module

    for name, text in files.items():
        (tmp_path / "cgroup" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "cgroup" / name).write_text(text)
    (tmp_path / "self-cgroup").write_text(membership)
    monkeypatch.setattr(serve_module, "CGROUP_ROOT", tmp_path / "cgroup")
    monkeypatch.setattr(serve_module, "PROC_CGROUP", tmp_path / "self-cgroup")
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: set(range(32)))


@pytest.mark.parametrize(
    ("membership", "files", "cores"),
    [
        ("0::/\n", {"cpu.max": "200000 100000\n"}, 2),  # cgroup v2, in a container: its group is the root
        ("0::/kubepods/pod1\n", {"kubepods/pod1/cpu.max": "150000 100000\n"}, 2),  # rounded up
        ("0::/a/b\n", {"a/b/cpu.max": "max 100000\n", "a/cpu.max": "300000 100000\n"}, 3),  # a parent's
        ("0::/\n", {"cpu.max": "max 100000\n"}, 32),  # no quota
        (
            "4:cpu,cpuacct:/docker/x\n",
            {"cpu,cpuacct/cpu.cfs_quota_us": "400000", "cpu,cpuacct/cpu.cfs_period_us": "100000"},
            4,
        ),
        ("1:cpu:/\n", {"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000"}, 32),  # v1, none
        ("0::/\n", {}, 32),  # nothing readable
    ],
)
def test_the_cores_shared_between_workers_respect_the_cpu_quota(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, membership: str, files: dict[str, str], cores: int
) -> None:
    """In a pod limited to 2 CPUs on a 32-core node, 2 workers get a thread each, not 16."""
    from mlpy.cli.serve import THREAD_VARIABLES, share_cores_between_workers, usable_cores

    fake_cgroup(monkeypatch, tmp_path, membership, files)
    assert usable_cores() == cores
    for name in THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    share_cores_between_workers(2)
    assert os.environ["OMP_NUM_THREADS"] == str(max(1, cores // 2))
