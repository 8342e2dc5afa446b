"""The real node's settings, as pure functions of their inputs: what each component is told."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

import localk8s
from localk8s import confinement, images
from localk8s.containerd import Containerd
from localk8s.dns import corefile, kube_dns_objects
from localk8s.network import cni_config, confine_rules
from localk8s.node import NodeConfig, kube_proxy_configuration, kubelet_configuration

NET = localk8s.NodeNetwork()


def test_network_addresses_follow_the_pod_and_service_ranges() -> None:
    assert (NET.node_ip, NET.prefix) == ("10.244.0.1", 24)
    assert (NET.api_service_ip, NET.dns_service_ip) == ("10.96.0.1", "10.96.0.10")


def test_containerd_config_carries_the_settings_this_machine_needs(tmp_path: Path) -> None:
    runtime = Containerd(tmp_path / "root", tmp_path / "state", tmp_path / "cni")
    config = tomllib.loads(runtime.config())
    cri = config["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["restrict_oom_score_adj"] is True  # no CAP_SYS_RESOURCE here
    assert cri["sandbox_image"] == "mlpy.local/pause:1"
    assert cri["netns_mounts_under_state_dir"] is True
    assert cri["cni"] == {"bin_dir": "/usr/lib/cni", "conf_dir": str(tmp_path / "cni")}
    runc = cri["containerd"]["runtimes"]["runc"]
    assert runc["options"]["SystemdCgroup"] is False
    assert config["grpc"]["address"] == str(tmp_path / "state" / "containerd.sock")


def test_kubelet_keeps_authentication_on(tmp_path: Path) -> None:
    pki = localk8s.make_pki(tmp_path / "pki", [NET.node_ip], NET.api_service_ip, node=("n", NET.node_ip))
    cfg = NodeConfig(tmp_path, {}, NET, "unix:///run/c.sock", name="n")
    kubelet = kubelet_configuration(cfg, pki, port=10250, healthz=10248)
    assert kubelet["authentication"] == {
        "anonymous": {"enabled": False},
        "webhook": {"enabled": True},
        "x509": {"clientCAFile": str(pki.ca_crt)},
    }
    assert kubelet["authorization"] == {"mode": "Webhook"}
    assert (kubelet["address"], kubelet["readOnlyPort"]) == (NET.node_ip, 0)
    assert (kubelet["failCgroupV1"], kubelet["cgroupDriver"]) == (False, "cgroupfs")
    assert kubelet["clusterDNS"] == ["10.96.0.10"]
    # Pods see the cluster DNS alone: the host's resolver configuration is an empty file.
    assert Path(kubelet["resolvConf"]).read_text() == ""


def test_kube_proxy_leaves_the_machines_conntrack_and_localhost_alone(tmp_path: Path) -> None:
    cfg = NodeConfig(tmp_path, {}, NET, "unix:///run/c.sock")
    proxy = kube_proxy_configuration(cfg, tmp_path / "kc", healthz=1, metrics=2)
    assert proxy["mode"] == "iptables"
    assert proxy["iptables"]["localhostNodePorts"] is False  # no route_localnet
    assert proxy["conntrack"]["maxPerCore"] == 0
    assert proxy["nodePortAddresses"] == ["10.244.0.1/32"]


def test_cni_network_has_no_masquerade_and_no_default_route(tmp_path: Path) -> None:
    (plugin,) = cni_config(NET, tmp_path)["plugins"]  # type: ignore[misc]
    assert plugin["type"] == "bridge"
    assert (plugin["ipMasq"], plugin["isDefaultGateway"]) == (False, False)
    assert plugin["ipam"]["routes"] == [{"dst": "10.96.0.0/16"}]


def test_confinement_chains_drop_what_crosses_the_bridge() -> None:
    rules = confine_rules(NET)
    assert rules["MLPY-CONFINE-FORWARD"][0] == "-i mlpy0 -o mlpy0 -j RETURN"
    assert any(r.startswith("-i mlpy0 ") and r.endswith("-j DROP") for r in rules["MLPY-CONFINE-FORWARD"])
    assert any(r.startswith("-o mlpy0 ") and r.endswith("-j DROP") for r in rules["MLPY-CONFINE-FORWARD"])
    assert rules["MLPY-CONFINE-EGRESS"][-1].startswith("-s 10.244.0.0/24 ")


def test_cluster_dns_answers_cluster_local_only(tmp_path: Path) -> None:
    path = tmp_path / "Corefile"
    path.write_text(corefile(NET, tmp_path / "kc", health=1, ready=2))
    audit = confinement.Audit()
    confinement.audit_dns(audit, path)
    assert audit.violations == []
    service = dict(kube_dns_objects(NET))["/api/v1/namespaces/kube-system/services/kube-dns"]
    assert service["spec"]["clusterIP"] == "10.96.0.10"


def test_the_dns_audit_fails_on_a_forwarding_corefile(tmp_path: Path) -> None:
    path = tmp_path / "Corefile"
    path.write_text(
        ".:53 {\n    forward . 192.0.2.53\n}\ncluster.local:53 {\n    kubernetes cluster.local\n}\n"
    )
    audit = confinement.Audit()
    confinement.audit_dns(audit, path)
    assert len(audit.violations) == 2  # a zone beyond cluster.local, and a forward plugin


KUBE_PROXY_NAT = [
    "-A POSTROUTING -m comment --comment kubernetes-postrouting -j KUBE-POSTROUTING",
    "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN",
    "-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0",
    "-A KUBE-POSTROUTING -m comment --comment snat -j MASQUERADE --random-fully",
]


def _with_rules(monkeypatch: pytest.MonkeyPatch, nat: list[str]) -> confinement.Audit:
    mangle = [f"-A {parent} -j {chain}" for chain, parent in localk8s.network.CONFINE_CHAINS.items()]
    mangle += [f"-A {chain} {rule}" for chain, rules in confine_rules(NET).items() for rule in rules]
    tables = {"mangle": mangle, "nat": nat}
    monkeypatch.setattr(confinement, "_rules", lambda _binary, table: [r.split() for r in tables[table]])
    audit = confinement.Audit()
    confinement.audit_rules(audit, NET)
    return audit


def test_rules_audit_accepts_kube_proxys_marked_service_snat(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _with_rules(monkeypatch, KUBE_PROXY_NAT).violations == []


def test_rules_audit_fails_on_a_pod_network_masquerade(monkeypatch: pytest.MonkeyPatch) -> None:
    cni_style = "-A POSTROUTING -s 10.244.0.0/24 ! -d 10.244.0.0/24 -j MASQUERADE"
    violations = _with_rules(monkeypatch, [*KUBE_PROXY_NAT, cni_style]).violations
    assert len(violations) == 1
    assert "10.244.0.0/24" in violations[0]


def test_images_are_the_ones_the_chart_and_operator_name() -> None:
    from mlpy_operator.constants import DEFAULT_SERVER_IMAGE

    refs = list(images.product_images())
    assert DEFAULT_SERVER_IMAGE in refs
    assert refs[1].startswith("ghcr.io/mlpy/mlpy-operator:")
    # Both Dockerfiles build FROM the one public base the stand-in is committed as.
    assert images.base_names(images.product_images().values()) == ["python:3.11.14-slim-bookworm"]


def test_an_image_key_changes_with_its_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dockerfile = list(images.product_images().values())[1]
    key = images.image_key(dockerfile)
    assert images.image_key(dockerfile) == key
    monkeypatch.setattr(images, "CONTEXT", (*images.CONTEXT[:-1],))  # one folder fewer in the context
    assert images.image_key(dockerfile) != key
