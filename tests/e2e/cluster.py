"""A real Kubernetes control plane on 127.0.0.1, without containers.

The operator has to be tested against a real API server (admission, RBAC, garbage collection,
CRD validation), and kind cannot run where there is no container engine. So this module runs the
real binaries as local processes: etcd, kube-apiserver (RBAC on, TLS with certificates made
here), kube-controller-manager, kube-scheduler and kwok, which plays the kubelet of fake nodes so
pods get scheduled and report Running. Binaries come from ``scripts/k8s/build.sh``.

The pytest fixtures in ``tests/e2e/conftest.py`` and ``scripts/k8s/cluster.sh`` (through
``python -m tests.e2e.cluster start|stop|status``) share this code. Only 127.0.0.1 is used.
"""

from __future__ import annotations

import argparse
import atexit
import base64
import contextlib
import ctypes
import datetime as dt
import ipaddress
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
K8S_SCRIPTS = REPO / "scripts" / "k8s"
VERSIONS_FILE = K8S_SCRIPTS / "versions.env"
KWOK_CONFIG = K8S_SCRIPTS / "kwok.yaml"
BUILD_HINT = "bash scripts/k8s/build.sh"

#: Binaries the local backend runs; kubectl is there for people and for tests that shell out.
BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "kubectl")
#: Built too, but no component needs them: reported when present.
OPTIONAL_BINARIES = ("helm",)
#: Components in start order; they are stopped in reverse.
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
FAKE_NODE = "kwok-node-0"
SERVICE_CIDR = "10.96.0.0/16"
POD_CIDR = "127.1.0.0/24"
LOOPBACK = "127.0.0.1"


class ClusterError(RuntimeError):
    """The local control plane could not be started or reached."""


class MissingBinariesError(ClusterError):
    """The binaries are not built yet; the message says how to build them."""


def read_versions(path: Path = VERSIONS_FILE) -> dict[str, str]:
    """The pinned versions: ``scripts/k8s/versions.env`` is their only home."""
    versions: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            versions[key.strip()] = value.strip().strip("\"'")
    return versions


def cache_root() -> Path:
    """Where build.sh puts binaries; ``MLPY_K8S_CACHE`` moves it, as in build.sh."""
    return Path(os.environ.get("MLPY_K8S_CACHE") or Path.home() / ".cache" / "mlpy-k8s")


def bin_dir() -> Path:
    return cache_root() / read_versions()["K8S_VERSION"] / "bin"


def find_binaries() -> dict[str, Path]:
    """Each binary from ``KUBEBUILDER_ASSETS`` first (as envtest does), else from build.sh's cache."""
    dirs = [Path(p) for p in os.environ.get("KUBEBUILDER_ASSETS", "").split(os.pathsep) if p]
    dirs.append(bin_dir())
    found: dict[str, Path] = {}
    missing: list[str] = []
    for name in (*BINARIES, *OPTIONAL_BINARIES):
        for d in dirs:
            candidate = d / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                found[name] = candidate
                break
        else:
            if name in BINARIES:
                missing.append(name)
    if missing:
        where = " or ".join(str(d) for d in dirs)
        raise MissingBinariesError(
            f"Kubernetes test binaries missing ({', '.join(missing)}) in {where}: run `{BUILD_HINT}`"
        )
    return found


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (the kernel picks it; a race with another binder is unlikely)."""
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports: all sockets stay open until every port is known."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for s in sockets:
            s.bind((LOOPBACK, 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


# --------------------------------------------------------------------------- certificates


@dataclass(frozen=True)
class Pki:
    """Paths of the certificates the control plane needs; all issued by one throw-away CA."""

    ca_crt: Path
    ca_key: Path
    serving_crt: Path
    serving_key: Path
    sa_key: Path
    sa_pub: Path
    clients: dict[str, tuple[Path, Path]]


def make_pki(directory: Path) -> Pki:
    """Generate a CA, the API server's serving cert, the service-account key and client certs.

    Client identities are the ones Kubernetes' bootstrap RBAC policy knows, so the components run
    with their real, narrow permissions: only ``admin`` is in ``system:masters``.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)

    def write_key(path: Path, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> None:
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
        path.chmod(0o600)

    def name(cn: str, org: str | None = None) -> x509.Name:
        attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
        if org:
            attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
        return x509.Name(attrs)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = name("mlpy-e2e-ca")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )

    def issue(stem: str, subject: x509.Name, server: bool) -> tuple[Path, Path]:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
        )
        if server:
            service_ip = next(ipaddress.IPv4Network(SERVICE_CIDR).hosts())
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [
                        x509.IPAddress(ipaddress.IPv4Address(LOOPBACK)),
                        x509.IPAddress(service_ip),
                        x509.DNSName("localhost"),
                        x509.DNSName("kubernetes"),
                        x509.DNSName("kubernetes.default"),
                        x509.DNSName("kubernetes.default.svc"),
                        x509.DNSName("kubernetes.default.svc.cluster.local"),
                    ]
                ),
                critical=False,
            )
        cert = builder.sign(ca_key, hashes.SHA256())
        crt_path, key_path = directory / f"{stem}.crt", directory / f"{stem}.key"
        crt_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        write_key(key_path, key)
        return crt_path, key_path

    ca_crt, ca_key_path = directory / "ca.crt", directory / "ca.key"
    ca_crt.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    write_key(ca_key_path, ca_key)
    serving_crt, serving_key = issue("apiserver", name("kube-apiserver"), server=True)
    # RSA: the service-account token signer is the key type every component accepts.
    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    sa_key_path, sa_pub_path = directory / "sa.key", directory / "sa.pub"
    write_key(sa_key_path, sa_key)
    sa_pub_path.write_bytes(
        sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    clients = {
        "admin": issue("admin", name("mlpy-e2e-admin", "system:masters"), server=False),
        "kube-controller-manager": issue(
            "kube-controller-manager", name("system:kube-controller-manager"), server=False
        ),
        "kube-scheduler": issue("kube-scheduler", name("system:kube-scheduler"), server=False),
        # The aggregation layer's identity when it proxies to extension API servers.
        "front-proxy-client": issue("front-proxy-client", name("front-proxy-client"), server=False),
        # kwok patches node and pod status and renews leases: it acts for every fake node.
        "kwok": issue("kwok", name("mlpy-e2e-kwok", "system:masters"), server=False),
    }
    return Pki(ca_crt, ca_key_path, serving_crt, serving_key, sa_key_path, sa_pub_path, clients)


def write_kubeconfig(path: Path, server: str, ca: Path, crt: Path, key: Path, user: str) -> Path:
    """A self-contained kubeconfig (certificates inlined) so it can be copied anywhere."""

    def b64(p: Path) -> str:
        return base64.b64encode(p.read_bytes()).decode()

    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "mlpy-e2e", "cluster": {"server": server, "certificate-authority-data": b64(ca)}}
        ],
        "users": [{"name": user, "user": {"client-certificate-data": b64(crt), "client-key-data": b64(key)}}],
        "contexts": [{"name": "mlpy-e2e", "context": {"cluster": "mlpy-e2e", "user": user}}],
        "current-context": "mlpy-e2e",
        "preferences": {},
    }
    # JSON is YAML: kubectl, client-go and the Python client all read it.
    path.write_text(json.dumps(config, indent=2))
    path.chmod(0o600)
    return path


# --------------------------------------------------------------------------- processes


def die_with_parent() -> None:
    """Run in the child before exec: the kernel kills it when the test process dies, even by SIGKILL."""
    os.setsid()
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); it is dead for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def terminate_groups(pids: Sequence[int], grace: float = 10.0) -> None:
    """SIGTERM each process group, give them ``grace`` seconds, then SIGKILL what is left."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        for pid in pids:  # reap our own children so they do not linger as zombies
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
        time.sleep(0.1)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def stop_components(pids: dict[str, int]) -> None:
    """Stop in stages: API clients first, then the API server, then etcd.

    Stopping all at once makes the API server and etcd wait on each other's connections for
    seconds; in this order the whole cluster is down in about one second.
    """
    stages = [
        [n for n in COMPONENTS if n not in ("kube-apiserver", "etcd")],
        ["kube-apiserver"],
        ["etcd"],
    ]
    for stage in stages:
        terminate_groups([pids[n] for n in stage if n in pids])


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# --------------------------------------------------------------------------- HTTP to the API server


class Api:
    """Minimal JSON client for the harness's own calls (the tests use the official client)."""

    def __init__(self, server: str, ca: Path, crt: Path, key: Path) -> None:
        self.server = server
        self.ctx = ssl.create_default_context(cafile=str(ca))
        self.ctx.load_cert_chain(str(crt), str(key))

    def request(self, method: str, path: str, body: Any = None, timeout: float = 10.0) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.server + path, data=data, method=method)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, context=self.ctx, timeout=timeout) as resp:
            raw = resp.read()
        return json.loads(raw) if raw.startswith(b"{") else raw.decode()

    def get(self, path: str) -> Any:
        return self.request("GET", path)


def wait_for(what: str, check: Callable[[], bool], timeout: float, logs: Sequence[Path] = ()) -> None:
    """Poll ``check`` until true; on timeout raise with the tails of the relevant logs."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (OSError, ValueError, KeyError, urllib.error.URLError) as exc:
            last = exc
        time.sleep(0.2)
    detail = "".join(f"\n--- {p.name} (tail) ---\n{_tail(p)}" for p in logs)
    raise ClusterError(f"timed out after {timeout:.0f}s waiting for {what} (last error: {last}){detail}")


# --------------------------------------------------------------------------- the cluster


@dataclass
class LocalCluster:
    """One local control plane whose files (certs, etcd data, logs, kubeconfig) live in ``state_dir``.

    ``die_with_parent`` ties the processes to this Python process (the pytest fixture);
    ``cluster.sh start`` leaves it off so the cluster outlives the command.
    """

    state_dir: Path
    binaries: dict[str, Path]
    die_with_parent: bool = True
    pids: dict[str, int] = field(default_factory=dict)
    server: str = ""
    startup_seconds: float = 0.0
    #: Seconds from the start of ``start()`` at which each readiness check passed.
    milestones: dict[str, float] = field(default_factory=dict)
    _procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"

    @property
    def state_file(self) -> Path:
        return self.state_dir / "state.json"

    def log(self, component: str) -> Path:
        return self.state_dir / "logs" / f"{component}.log"

    def _spawn(self, component: str, args: list[str]) -> None:
        self.log(component).parent.mkdir(parents=True, exist_ok=True)
        with open(self.log(component), "ab") as out:
            proc = subprocess.Popen(
                [str(self.binaries[component]), *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.state_dir,
                preexec_fn=die_with_parent if self.die_with_parent else None,
                start_new_session=not self.die_with_parent,
                env={**os.environ, "KUBECONFIG": str(self.kubeconfig)},
            )
        self._procs.append(proc)
        self.pids[component] = proc.pid
        self._save_state()

    def _save_state(self) -> None:
        state = {
            "pids": self.pids,
            "server": self.server,
            "kubeconfig": str(self.kubeconfig),
            "startup_seconds": self.startup_seconds,
            "milestones": self.milestones,
        }
        self.state_file.write_text(json.dumps(state, indent=2))

    def _check_alive(self) -> None:
        for name, pid in self.pids.items():
            if not _alive(pid):
                raise ClusterError(f"{name} exited\n--- {name}.log (tail) ---\n{_tail(self.log(name))}")

    def start(self, timeout: float = 120.0) -> None:
        """Start every component and return once a pod could be scheduled and run."""
        t0 = time.monotonic()

        def reached(milestone: str) -> None:
            self.milestones[milestone] = round(time.monotonic() - t0, 2)

        self.state_dir.mkdir(parents=True, exist_ok=True)
        pki = make_pki(self.state_dir / "pki")
        etcd_port, etcd_peer, api_port, kcm_port, sched_port, kwok_port = free_ports(6)
        self.server = f"https://{LOOPBACK}:{api_port}"
        etcd_url = f"http://{LOOPBACK}:{etcd_port}"
        peer_url = f"http://{LOOPBACK}:{etcd_peer}"
        try:
            self._spawn(
                "etcd",
                [
                    "--name=mlpy-e2e",
                    f"--data-dir={self.state_dir / 'etcd'}",
                    f"--listen-client-urls={etcd_url}",
                    f"--advertise-client-urls={etcd_url}",
                    f"--listen-peer-urls={peer_url}",
                    f"--initial-advertise-peer-urls={peer_url}",
                    f"--initial-cluster=mlpy-e2e={peer_url}",
                    "--listen-metrics-urls=",
                    "--unsafe-no-fsync",  # throw-away data: durability only costs time here
                    "--log-level=warn",
                ],
            )

            def etcd_healthy() -> bool:
                self._check_alive()
                with urllib.request.urlopen(f"{etcd_url}/health", timeout=2) as resp:
                    return bool(json.loads(resp.read()).get("health") == "true")

            wait_for("etcd", etcd_healthy, 30, [self.log("etcd")])
            reached("etcd")

            self._spawn(
                "kube-apiserver",
                [
                    f"--etcd-servers={etcd_url}",
                    f"--bind-address={LOOPBACK}",
                    f"--advertise-address={LOOPBACK}",
                    f"--secure-port={api_port}",
                    f"--cert-dir={self.state_dir / 'pki'}",
                    f"--tls-cert-file={pki.serving_crt}",
                    f"--tls-private-key-file={pki.serving_key}",
                    f"--client-ca-file={pki.ca_crt}",
                    f"--service-account-key-file={pki.sa_pub}",
                    f"--service-account-signing-key-file={pki.sa_key}",
                    "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                    "--api-audiences=https://kubernetes.default.svc.cluster.local",
                    f"--service-cluster-ip-range={SERVICE_CIDR}",
                    # The lease reconciler refuses a loopback address for the `kubernetes`
                    # Service's endpoints; nothing here dials that Service, so publish none.
                    "--endpoint-reconciler-type=none",
                    "--authorization-mode=Node,RBAC",
                    # A configured front proxy (aggregation layer) as in real clusters; it also
                    # gives the components' delegated authentication its request-header CA.
                    f"--requestheader-client-ca-file={pki.ca_crt}",
                    "--requestheader-allowed-names=front-proxy-client",
                    "--requestheader-username-headers=X-Remote-User",
                    "--requestheader-group-headers=X-Remote-Group",
                    "--requestheader-extra-headers-prefix=X-Remote-Extra-",
                    f"--proxy-client-cert-file={pki.clients['front-proxy-client'][0]}",
                    f"--proxy-client-key-file={pki.clients['front-proxy-client'][1]}",
                    "--allow-privileged=true",
                    "--profiling=false",
                    "--v=1",
                ],
            )
            admin_crt, admin_key = pki.clients["admin"]
            api = Api(self.server, pki.ca_crt, admin_crt, admin_key)

            def api_ready() -> bool:
                self._check_alive()
                return bool(api.get("/readyz") == "ok")

            wait_for("kube-apiserver /readyz", api_ready, 60, [self.log("kube-apiserver")])
            reached("kube-apiserver")

            configs = {
                user: write_kubeconfig(
                    self.state_dir / f"{user}.kubeconfig", self.server, pki.ca_crt, *pair, user
                )
                for user, pair in pki.clients.items()
                if user != "front-proxy-client"
            }
            shutil.copyfile(configs["admin"], self.kubeconfig)
            self.kubeconfig.chmod(0o600)

            kcm_cfg = str(configs["kube-controller-manager"])
            self._spawn(
                "kube-controller-manager",
                [
                    f"--kubeconfig={kcm_cfg}",
                    f"--authentication-kubeconfig={kcm_cfg}",
                    f"--authorization-kubeconfig={kcm_cfg}",
                    f"--bind-address={LOOPBACK}",
                    f"--secure-port={kcm_port}",
                    f"--cert-dir={self.state_dir / 'kcm-certs'}",
                    "--use-service-account-credentials=true",
                    # "*" is every default controller: garbage collector, deployment, replicaset,
                    # job, cronjob, namespace, serviceaccount, node lifecycle and more.
                    "--controllers=*",
                    f"--service-account-private-key-file={pki.sa_key}",
                    f"--root-ca-file={pki.ca_crt}",
                    f"--cluster-signing-cert-file={pki.ca_crt}",
                    f"--cluster-signing-key-file={pki.ca_key}",
                    f"--service-cluster-ip-range={SERVICE_CIDR}",
                    "--leader-elect=false",
                    "--profiling=false",
                    "--v=1",
                ],
            )
            sched_cfg = str(configs["kube-scheduler"])
            self._spawn(
                "kube-scheduler",
                [
                    f"--kubeconfig={sched_cfg}",
                    f"--authentication-kubeconfig={sched_cfg}",
                    f"--authorization-kubeconfig={sched_cfg}",
                    f"--bind-address={LOOPBACK}",
                    f"--secure-port={sched_port}",
                    f"--cert-dir={self.state_dir / 'scheduler-certs'}",
                    "--leader-elect=false",
                    "--profiling=false",
                    "--v=1",
                ],
            )
            self._spawn(
                "kwok",
                [
                    f"--kubeconfig={configs['kwok']}",
                    f"--config={KWOK_CONFIG}",
                    "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
                    f"--node-ip={LOOPBACK}",
                    f"--cidr={POD_CIDR}",
                    f"--server-address={LOOPBACK}:{kwok_port}",
                ],
            )
            api.request("POST", "/api/v1/nodes", fake_node(FAKE_NODE))

            def node_schedulable() -> bool:
                self._check_alive()
                node = api.get(f"/api/v1/nodes/{FAKE_NODE}")
                ready = any(
                    c["type"] == "Ready" and c["status"] == "True"
                    for c in node["status"].get("conditions", [])
                )
                # The node lifecycle controller (in kube-controller-manager) lifts this taint.
                tainted = any(
                    t["key"].startswith("node.kubernetes.io/") for t in node["spec"].get("taints", [])
                )
                return ready and not tainted

            def default_sa() -> bool:
                self._check_alive()
                try:
                    api.get("/api/v1/namespaces/default/serviceaccounts/default")
                except urllib.error.HTTPError as exc:
                    if exc.code == 404:
                        return False
                    raise
                return True

            remaining = max(10.0, timeout - (time.monotonic() - t0))
            logs = [self.log(c) for c in ("kwok", "kube-controller-manager", "kube-scheduler")]
            wait_for(f"node {FAKE_NODE} Ready and untainted", node_schedulable, remaining, logs)
            reached("node")
            remaining = max(10.0, timeout - (time.monotonic() - t0))
            wait_for("the default ServiceAccount", default_sa, remaining, logs)
            reached("serviceaccount")
            scheduler_health = f"https://{LOOPBACK}:{sched_port}/healthz"
            insecure = ssl.create_default_context()
            insecure.check_hostname, insecure.verify_mode = False, ssl.CERT_NONE

            def scheduler_healthy() -> bool:
                with urllib.request.urlopen(scheduler_health, context=insecure, timeout=2) as resp:
                    return bool(resp.read() == b"ok")

            wait_for("kube-scheduler /healthz", scheduler_healthy, 30, [self.log("kube-scheduler")])
            reached("kube-scheduler")
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = round(time.monotonic() - t0, 2)
        self._save_state()

    def stop(self) -> None:
        """Stop every component (reverse start order) and reap them; safe to call twice."""
        stop_components(self.pids)
        for proc in self._procs:
            proc.poll()
        self.pids.clear()
        self._procs.clear()
        if self.state_file.exists():
            self.state_file.unlink()


def fake_node(name: str) -> dict[str, Any]:
    """A Node object that kwok (selected by the annotation) takes care of."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
            },
        },
        # Pod IPs come from here: loopback addresses, so even a proxied request to a fake pod
        # (API server service proxy) never leaves the machine.
        "spec": {"podCIDR": POD_CIDR, "podCIDRs": [POD_CIDR]},
        "status": {"allocatable": {"cpu": "32", "memory": "128Gi", "pods": "250"}},
    }


def start_for_session(state_dir: Path | None = None, timeout: float = 120.0) -> LocalCluster:
    """Start a cluster tied to this process.

    Stopped by the caller, else at interpreter exit (atexit), else by the kernel if the process
    is killed outright (PR_SET_PDEATHSIG): no run leaves a control plane behind.
    """
    directory = state_dir or Path(tempfile.mkdtemp(prefix="mlpy-k8s-"))
    binaries = find_binaries()
    for attempt in (1, 2):
        # A second try with fresh ports covers a port taken between probe and bind.
        attempt_dir = directory if attempt == 1 else directory.with_name(directory.name + "-retry")
        cluster = LocalCluster(attempt_dir, binaries, die_with_parent=True)
        atexit.register(cluster.stop)
        try:
            cluster.start(timeout=timeout)
        except ClusterError as exc:
            if attempt == 2 or "address already in use" not in str(exc):
                raise
            continue
        return cluster
    raise AssertionError("unreachable")


# --------------------------------------------------------------------------- command line


def default_state_dir() -> Path:
    return Path(os.environ.get("MLPY_K8S_CLUSTER_DIR") or cache_root() / "cluster")


def _read_state(state_dir: Path) -> dict[str, Any] | None:
    try:
        state: dict[str, Any] = json.loads((state_dir / "state.json").read_text())
    except (OSError, ValueError):
        return None
    return state


def cmd_start(state_dir: Path) -> int:
    state = _read_state(state_dir)
    if state and any(_alive(int(p)) for p in state["pids"].values()):
        print(f"already running; kubeconfig: {state['kubeconfig']}")
        return 0
    if state_dir.exists():
        shutil.rmtree(state_dir)  # fresh etcd and certificates every start
    cluster = LocalCluster(state_dir, find_binaries(), die_with_parent=False)
    cluster.start()
    print(f"local control plane up in {cluster.startup_seconds:.1f}s at {cluster.server}")
    print(f"logs: {state_dir / 'logs'}")
    print(f"export KUBECONFIG={cluster.kubeconfig}")
    return 0


def cmd_stop(state_dir: Path) -> int:
    state = _read_state(state_dir)
    if not state:
        print("not running")
        return 0
    stop_components({name: int(pid) for name, pid in state["pids"].items()})
    (state_dir / "state.json").unlink(missing_ok=True)
    print("stopped")
    return 0


def cmd_status(state_dir: Path) -> int:
    state = _read_state(state_dir)
    if not state:
        print("not running")
        return 1
    up = True
    for name in COMPONENTS:
        pid = state["pids"].get(name)
        alive = pid is not None and _alive(int(pid))
        up = up and alive
        print(f"{name:<24} {'running' if alive else 'DOWN':<8} pid={pid}")
    print(f"server: {state['server']}\nexport KUBECONFIG={state['kubeconfig']}")
    return 0 if up else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="cluster.sh", description="Local Kubernetes control plane for mlpy."
    )
    parser.add_argument("command", choices=["start", "stop", "status"])
    parser.add_argument("--dir", type=Path, default=None, help="state directory (default: %(default)s)")
    args = parser.parse_args(argv)
    state_dir: Path = args.dir or default_state_dir()
    commands = {"start": cmd_start, "stop": cmd_stop, "status": cmd_status}
    try:
        return commands[args.command](state_dir)
    except ClusterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
