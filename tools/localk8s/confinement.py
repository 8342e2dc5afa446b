"""Proof that the pod network is confined, by reading what is in force (never by sending a packet).

It reads the CNI configuration, the mangle and NAT rules, the forwarding sysctls, every pod's
routes (inside its network namespace) and CoreDNS's configuration, and names each thing that would
let traffic from a pod leave the machine.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from localk8s.host import run
from localk8s.network import CONFINE_CHAINS, NodeNetwork, confine_rules, read_sysctl


@dataclass
class Audit:
    """What was read (``seen``) and what breaks confinement (``violations``)."""

    seen: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    def check(self, ok: bool, seen: str, violation: str) -> None:
        self.seen.append(f"{'ok  ' if ok else 'FAIL'} {seen}")
        if not ok:
            self.violations.append(violation)


def _rules(binary: str, table: str) -> list[list[str]]:
    out = run([f"{binary}-save", "-t", table], check=False)
    return [line.split() for line in out.splitlines() if line.startswith("-A ")]


def audit_cni(audit: Audit, net: NodeNetwork, conf_dir: Path) -> None:
    files = sorted(p.name for p in conf_dir.iterdir()) if conf_dir.is_dir() else []
    audit.check(
        files == ["10-mlpy.conflist"], f"CNI configs in {conf_dir}: {files}", "an unexpected CNI config"
    )
    for name in files:
        plugins = json.loads((conf_dir / name).read_text()).get("plugins", [])
        types = [p.get("type") for p in plugins]
        audit.check(types == ["bridge"], f"{name}: plugins {types}", f"{name}: plugins other than the bridge")
        for plugin in plugins:
            masq = bool(plugin.get("ipMasq", False))
            audit.check(not masq, f"{name}: ipMasq={masq}", f"{name}: the CNI plugin masquerades")
            gateway = bool(plugin.get("isDefaultGateway", False))
            audit.check(
                not gateway, f"{name}: isDefaultGateway={gateway}", f"{name}: pods get a default route"
            )
            routes = [r.get("dst") for r in plugin.get("ipam", {}).get("routes", [])]
            audit.check(
                routes == [net.service_cidr],
                f"{name}: pod routes {routes}",
                f"{name}: pod routes beyond Services",
            )


def audit_rules(audit: Audit, net: NodeNetwork) -> None:
    mangle = _rules("iptables", "mangle")
    for chain, parent in CONFINE_CHAINS.items():
        in_parent = [r for r in mangle if r[1] == parent]
        first = in_parent[0][2:] if in_parent else []
        audit.check(
            first == ["-j", chain],
            f"mangle {parent} rule 1: {' '.join(first) or '(none)'}",
            f"{chain} is not first in {parent}",
        )
        have = [_normal(" ".join(r[2:])) for r in mangle if r[1] == chain]
        want = [_normal(rule) for rule in confine_rules(net)[chain]]
        audit.check(have == want, f"mangle {chain}: {have}", f"{chain} does not hold the confinement rules")
    nat = _rules("iptables", "nat")
    for i, rule in enumerate(nat):
        if "-j" not in rule or rule[rule.index("-j") + 1] not in ("MASQUERADE", "SNAT"):
            continue
        text = " ".join(rule[1:])
        from_pods = "-s" in rule and rule[rule.index("-s") + 1] == net.pod_cidr
        out_iface = rule[rule.index("-o") + 1] if "-o" in rule else None
        # kube-proxy's only masquerade is gated on its own mark (hairpin Service traffic); it can
        # only meet packets on the bridge, because the egress chain drops the pods' others first.
        gated = rule[1] == "KUBE-POSTROUTING" and any(
            r[1] == rule[1] and "!" in r and "--mark" in r and r[-2:] == ["-j", "RETURN"] for r in nat[:i]
        )
        ok = gated and not from_pods and out_iface in (None, net.bridge)
        audit.check(ok, f"nat {text}", f"a masquerade that is not kube-proxy's marked Service SNAT: {text}")
    v4 = read_sysctl("net/ipv4/ip_forward")
    v6 = read_sysctl("net/ipv6/conf/all/forwarding")
    audit.check(v6 in ("0", None), f"IPv6 forwarding {v6}", "IPv6 forwarding is on (no rules confine it)")
    audit.seen.append(
        f"info IPv4 forwarding {v4} (Service traffic; the mangle chains bound it to the bridge)"
    )


def _normal(rule: str) -> str:
    """A rule without the quotes iptables-save puts around comments, spaces collapsed."""
    return re.sub(r"\s+", " ", rule.replace('"', "")).strip()


def audit_pod_routes(audit: Audit, net: NodeNetwork, netns_dir: Path) -> None:
    namespaces = sorted(netns_dir.glob("cni-*")) if netns_dir.is_dir() else []
    audit.seen.append(f"info {len(namespaces)} pod network namespaces in {netns_dir}")
    for ns in namespaces:
        dsts: list[str] = []
        for family in ("-4", "-6"):
            out = run(
                ["nsenter", f"--net={ns}", "ip", family, "-j", "route", "show", "table", "all"], check=False
            )
            routes = json.loads(out or "[]")
            dsts += [
                r["dst"]
                for r in routes
                if r.get("type", "unicast") == "unicast" and r.get("table") != "local"
            ]
        # IPv4 to the bridge subnet and the Services; IPv6 link-local only (the CNI gives no IPv6).
        allowed = {net.pod_cidr, net.service_cidr, "fe80::/64"}
        audit.check(
            set(dsts) <= allowed and "default" not in dsts,
            f"pod {ns.name} routes {dsts}",
            f"pod {ns.name} has routes beyond the bridge and Services: {dsts}",
        )


def audit_dns(audit: Audit, corefile: Path) -> None:
    text = corefile.read_text() if corefile.is_file() else ""
    zones = re.findall(r"^(\S+)\s*\{", text, re.M)
    audit.check(
        zones == ["cluster.local:53"],
        f"CoreDNS zones {zones}",
        f"CoreDNS serves zones beyond cluster.local: {zones}",
    )
    plugins = {m.split()[0] for m in re.findall(r"^\s{4}(\w[^\n]*)$", text, re.M)}
    forwarding = sorted(plugins & {"forward", "proxy", "grpc"})
    audit.check(not forwarding, f"CoreDNS plugins {sorted(plugins)}", f"CoreDNS forwards: {forwarding}")


def audit_confinement(net: NodeNetwork, cni_conf_dir: Path, netns_dir: Path, corefile: Path) -> Audit:
    audit = Audit()
    audit_cni(audit, net, cni_conf_dir)
    audit_rules(audit, net)
    audit_pod_routes(audit, net, netns_dir)
    audit_dns(audit, corefile)
    return audit
