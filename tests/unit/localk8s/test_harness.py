"""The local cluster tool's own logic, checked without starting anything (fast, no binaries)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import localk8s as cluster


def test_versions_are_pinned_in_one_file() -> None:
    versions = cluster.read_versions()
    assert set(versions) >= {"K8S_VERSION", "ETCD_VERSION", "KWOK_VERSION", "HELM_VERSION", "COREDNS_VERSION"}
    assert all(v.startswith("v") for v in versions.values())


def test_missing_binaries_name_the_build_script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLPY_K8S_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.delenv("KUBEBUILDER_ASSETS", raising=False)
    with pytest.raises(cluster.MissingBinariesError, match=r"bash scripts/k8s/build\.sh"):
        cluster.find_binaries()


def test_kubebuilder_assets_win_over_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assets = tmp_path / "assets"
    assets.mkdir()
    for name in cluster.BINARIES:
        exe = assets / name
        exe.write_text("#!/bin/sh\n")
        exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("MLPY_K8S_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("KUBEBUILDER_ASSETS", str(assets))
    found = cluster.find_binaries()
    assert {n: found[n] for n in cluster.BINARIES} == {name: assets / name for name in cluster.BINARIES}


def test_pki_gives_admin_system_masters_and_components_their_own_identity(tmp_path: Path) -> None:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    pki = cluster.make_pki(tmp_path, ["10.244.0.1"], "10.96.0.1", node=("mlpy-node-0", "10.244.0.1"))

    def subject(name: str) -> tuple[str, list[str]]:
        cert = x509.load_pem_x509_certificate(pki.clients[name][0].read_bytes())
        cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        orgs = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
        return str(cn), orgs

    assert subject("admin")[1] == ["system:masters"]
    assert subject("kube-controller-manager") == ("system:kube-controller-manager", [])
    assert subject("kube-scheduler") == ("system:kube-scheduler", [])
    # The node's identities are the ones the Node authorizer and the bootstrap RBAC policy know.
    assert subject("kubelet") == ("system:node:mlpy-node-0", ["system:nodes"])
    assert subject("kube-proxy") == ("system:kube-proxy", [])
    assert subject("apiserver-kubelet-client") == ("kube-apiserver-kubelet-client", [])
    serving = x509.load_pem_x509_certificate(pki.serving_crt.read_bytes())
    sans = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    # Pods reach the API server at the kubernetes Service's IP; the host at the bridge address.
    assert {"10.244.0.1", "10.96.0.1"} <= {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)}
    assert "kubernetes.default.svc" in sans.get_values_for_type(x509.DNSName)
    assert pki.kubelet_serving is not None
    kubelet = x509.load_pem_x509_certificate(pki.kubelet_serving[0].read_bytes())
    kubelet_sans = kubelet.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in kubelet_sans.get_values_for_type(x509.IPAddress)] == ["10.244.0.1"]
    assert oct(pki.sa_key.stat().st_mode & 0o777) == "0o600"


def test_kubeconfig_is_self_contained(tmp_path: Path) -> None:
    pki = cluster.make_pki(tmp_path, ["127.0.0.1"], "10.96.0.1")
    crt, key = pki.clients["admin"]
    path = cluster.write_kubeconfig(tmp_path / "kc", "https://127.0.0.1:1", pki.ca_crt, crt, key, "admin")
    config = json.loads(path.read_text())
    assert config["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:1"
    assert "client-key-data" in config["users"][0]["user"]


def test_free_ports_are_distinct() -> None:
    ports = cluster.free_ports(6)
    assert len(set(ports)) == 6
    assert all(0 < p < 65536 for p in ports)


def test_cli_status_and_stop_without_a_cluster(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[3]
    env = {**os.environ, "MLPY_K8S_CLUSTER_DIR": str(tmp_path / "state")}
    run = [sys.executable, "-m", "localk8s"]
    status = subprocess.run([*run, "status"], cwd=repo, env=env, capture_output=True, text=True, check=False)
    assert (status.returncode, status.stdout.strip()) == (1, "not running")
    stop = subprocess.run([*run, "stop"], cwd=repo, env=env, capture_output=True, text=True, check=True)
    assert stop.stdout.strip() == "not running"
