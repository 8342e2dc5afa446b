"""The stores a team already has, for the local cluster: PostgreSQL, Redis and an S3-compatible server
(moto's server mode) on the node's bridge address, where pods reach them and nothing outside can.

``cluster.sh start --stores`` runs them beside the node and writes ``stores.env`` next to the
kubeconfig: the URLs and credentials the Kubernetes walkthrough (docs/kubernetes.md) uses, as a
reader would export their own. They are throw-away: their data lives in the cluster's folders.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from localk8s.errors import ClusterError
from localk8s.host import LIB_ROOT, run, short_dir, which
from localk8s.network import NodeNetwork
from localk8s.processes import Processes, wait_for

PG_PORT, REDIS_PORT, S3_PORT = 5432, 6379, 9000
PG_USER, PG_PASSWORD, PG_DATABASE = "mlpy", "mlpy-local", "mlpy"
S3_KEY, S3_SECRET, S3_BUCKET = "mlpy-local", "mlpy-local-secret", "mlpy"


@dataclass(frozen=True)
class Stores:
    """Where each store answers, as the pods and the host both reach it."""

    net: NodeNetwork

    @property
    def metadata_url(self) -> str:
        """The password stays out of the URL: it goes in PGPASSWORD (in a Secret, in the cluster)."""
        return f"postgresql://{PG_USER}@{self.net.node_ip}:{PG_PORT}/{PG_DATABASE}"

    @property
    def redis_url(self) -> str:
        return f"redis://{self.net.node_ip}:{REDIS_PORT}/0"

    @property
    def s3_endpoint(self) -> str:
        return f"http://{self.net.node_ip}:{S3_PORT}"

    def env(self) -> dict[str, str]:
        return {
            "MLPY_STORE": self.metadata_url,
            "PGPASSWORD": PG_PASSWORD,
            "MLPY_EXPERIMENT_STATS": self.redis_url,
            "MLPY_S3_ENDPOINT_URL": self.s3_endpoint,
            "MLPY_ARTIFACTS": f"s3://{S3_BUCKET}/models",
            "AWS_ACCESS_KEY_ID": S3_KEY,
            "AWS_SECRET_ACCESS_KEY": S3_SECRET,
            "AWS_DEFAULT_REGION": "us-east-1",
        }


def store_blockers() -> list[str]:
    missing = []
    if _pg_bin() is None:
        missing.append("postgresql")
    if which("redis-server") is None:
        missing.append("redis-server")
    try:
        import moto.server  # noqa: F401
    except ImportError:
        missing.append("moto[server] (pip)")
    return [f"stores need {', '.join(missing)}"] if missing else []


def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


def pg_dir(state_dir: Path) -> Path:
    """Outside the cluster folder: the postgres account must reach it, and a test's temp is private."""
    return short_dir(LIB_ROOT, state_dir) / "postgres"


def _as_postgres(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def start_stores(net: NodeNetwork, procs: Processes, state_dir: Path) -> Stores:
    """PostgreSQL, Redis and S3 on the node address; ``stores.env`` beside the kubeconfig."""
    stores = Stores(net)
    _start_postgres(net, state_dir)
    procs.spawn(
        "redis",
        [
            which("redis-server") or "redis-server",
            "--bind",
            net.node_ip,
            "--port",
            str(REDIS_PORT),
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "no",
        ],
        {**os.environ},
        state_dir,
    )
    procs.spawn(
        "s3",
        [sys.executable, "-m", "moto.server", "-H", net.node_ip, "-p", str(S3_PORT)],
        {**os.environ, "MOTO_ALLOW_NONEXISTENT_REGION": "true"},
        state_dir,
    )
    wait_for("the S3 server", lambda: _bucket_made(stores), 60, [procs.log("s3")])
    lines = [f"export {k}={shlex.quote(v)}" for k, v in stores.env().items()]
    (state_dir / "stores.env").write_text("\n".join(lines) + "\n")
    return stores


def _bucket_made(stores: Stores) -> bool:
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=stores.s3_endpoint,
        aws_access_key_id=S3_KEY,
        aws_secret_access_key=S3_SECRET,
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=S3_BUCKET)
    return True


def _start_postgres(net: NodeNetwork, state_dir: Path) -> None:
    binaries = _pg_bin()
    if binaries is None:
        raise ClusterError("PostgreSQL is not installed (apt-get install postgresql)")
    home = pg_dir(state_dir)
    data = home / "data"
    home.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        run(["chown", "-R", "postgres", str(home)])
        for parent in (home.parent, home.parent.parent):  # the kubelet makes them 0750
            parent.chmod(0o755)
    if not (data / "PG_VERSION").exists():
        pwfile = home / "pw"
        pwfile.write_text(PG_PASSWORD + "\n")
        if os.geteuid() == 0:
            run(["chown", "postgres", str(pwfile)])
        run(
            _as_postgres(
                [
                    str(binaries / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    PG_USER,
                    f"--pwfile={pwfile}",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "-E",
                    "UTF8",
                ]
            ),
            timeout=120,
        )
        pwfile.unlink()
        # Pods connect from the bridge's subnet, with the password (PGPASSWORD in their Secret).
        with open(data / "pg_hba.conf", "a") as hba:
            hba.write(f"host all all {net.pod_cidr} scram-sha-256\n")
    options = f"-p {PG_PORT} -k {home} -c listen_addresses={net.node_ip} -c fsync=off -c max_connections=200"
    run(
        _as_postgres(
            [
                str(binaries / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(home / "server.log"),
                "-w",
                "-t",
                "60",
                "-o",
                options,
                "start",
            ]
        ),
        timeout=90,
    )
    deadline = time.monotonic() + 30
    while True:
        created = run(
            _as_postgres(
                [str(binaries / "createdb"), "-h", str(home), "-p", str(PG_PORT), "-U", PG_USER, PG_DATABASE]
            ),
            check=False,
        )
        if created is not None and _database_exists(binaries, home):
            return
        if time.monotonic() > deadline:
            raise ClusterError(
                f"PostgreSQL on {net.node_ip}:{PG_PORT} did not take the database {PG_DATABASE}"
            )
        time.sleep(0.5)


def _database_exists(binaries: Path, home: Path) -> bool:
    out = run(
        _as_postgres(
            [
                str(binaries / "psql"),
                "-h",
                str(home),
                "-p",
                str(PG_PORT),
                "-U",
                PG_USER,
                "-Atc",
                f"SELECT 1 FROM pg_database WHERE datname = '{PG_DATABASE}'",
                "postgres",
            ]
        ),
        check=False,
    )
    return out.strip() == "1"


def stop_postgres(state_dir: Path) -> None:
    binaries, data = _pg_bin(), pg_dir(state_dir) / "data"
    if binaries is not None and (data / "postmaster.pid").exists():
        run(_as_postgres([str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]), check=False)
