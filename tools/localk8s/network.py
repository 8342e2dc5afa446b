"""The node's network: a bridge inside the machine, and rules that keep the pods on it.

Pods get addresses on ``mlpy0`` (10.244.0.0/24, the node is 10.244.0.1) and routes to that subnet
and to the Service range only: no default route. Two chains in the mangle table, which kube-proxy
never touches and which run before its filter and NAT chains, drop anything crossing between the
bridge and any other interface and anything from the pod network leaving through one. Nothing is
masqueraded onto another interface because nothing from the pods reaches another interface.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
from dataclasses import dataclass
from pathlib import Path

from localk8s.host import run, succeeds

#: The mangle chains the node adds, and the built-in chain each is jumped to from (as rule 1).
CONFINE_CHAINS = {"MLPY-CONFINE-FORWARD": "FORWARD", "MLPY-CONFINE-EGRESS": "POSTROUTING"}
#: What the node needs set; each earlier value is saved and put back on stop.
NODE_SYSCTLS = {
    "net/ipv4/ip_forward": "1",  # pod -> Service -> pod goes through the node's routing
    "net/bridge/bridge-nf-call-iptables": "1",  # bridged replies pass conntrack (Service NAT undone)
}
#: Set by kubelet and kube-proxy themselves; saved before they start and put back on stop.
COMPONENT_SYSCTLS = (
    # The kubelet's kernel tunables (protectKernelDefaults is off): it writes each that differs.
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
    # kube-proxy's.
    "net/ipv4/conf/all/route_localnet",
    "net/netfilter/nf_conntrack_max",
    "net/netfilter/nf_conntrack_tcp_timeout_established",
    "net/netfilter/nf_conntrack_tcp_timeout_close_wait",
)


@dataclass(frozen=True)
class NodeNetwork:
    bridge: str = "mlpy0"
    pod_cidr: str = "10.244.0.0/24"
    service_cidr: str = "10.96.0.0/16"

    @property
    def node_ip(self) -> str:
        """The node's address: the bridge's, the pods' gateway and where host services listen."""
        return str(next(ipaddress.ip_network(self.pod_cidr).hosts()))

    @property
    def prefix(self) -> int:
        return ipaddress.ip_network(self.pod_cidr).prefixlen

    @property
    def api_service_ip(self) -> str:
        return str(next(ipaddress.ip_network(self.service_cidr).hosts()))

    @property
    def dns_service_ip(self) -> str:
        return str(ipaddress.ip_network(self.service_cidr).network_address + 10)


def read_sysctl(key: str) -> str | None:
    try:
        return Path("/proc/sys", key).read_text().strip()
    except OSError:
        return None


def write_sysctl(key: str, value: str) -> None:
    Path("/proc/sys", key).write_text(value)


def save_sysctls(path: Path) -> None:
    """Record the values the node and its components change, before any of them runs."""
    keys = [*NODE_SYSCTLS, *COMPONENT_SYSCTLS]
    path.write_text(json.dumps({k: v for k in keys if (v := read_sysctl(k)) is not None}, indent=2))


def restore_sysctls(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        for key, value in json.loads(path.read_text()).items():
            if read_sysctl(key) != value:
                with contextlib.suppress(OSError):
                    write_sysctl(key, value)


def cni_config(net: NodeNetwork, ipam_dir: Path) -> dict[str, object]:
    """The CNI network: a bridge, host-local addresses, no masquerading, no default route."""
    return {
        "cniVersion": "1.0.0",
        "name": "mlpy",
        "plugins": [
            {
                "type": "bridge",
                "bridge": net.bridge,
                "isGateway": True,
                "isDefaultGateway": False,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": net.pod_cidr, "gateway": net.node_ip}]],
                    # The pods reach their own subnet directly and Services through the node: nothing else.
                    "routes": [{"dst": net.service_cidr}],
                    "dataDir": str(ipam_dir),
                },
            }
        ],
    }


def write_cni_config(net: NodeNetwork, conf_dir: Path, ipam_dir: Path) -> Path:
    conf_dir.mkdir(parents=True, exist_ok=True)
    path = conf_dir / "10-mlpy.conflist"  # sorts first even beside tools that add their own
    path.write_text(json.dumps(cni_config(net, ipam_dir), indent=2))
    return path


def confine_rules(net: NodeNetwork) -> dict[str, list[str]]:
    """The rules of each confinement chain (``iptables -t mangle -A CHAIN`` arguments)."""
    b = net.bridge
    return {
        "MLPY-CONFINE-FORWARD": [
            f"-i {b} -o {b} -j RETURN",
            f"-i {b} -m comment --comment mlpy:pods-stay-on-the-bridge -j DROP",
            f"-o {b} -m comment --comment mlpy:nothing-forwarded-to-pods-from-outside -j DROP",
        ],
        "MLPY-CONFINE-EGRESS": [
            f"-o {b} -j RETURN",
            "-o lo -j RETURN",
            f"-s {net.pod_cidr} -m comment --comment mlpy:pod-network-never-leaves -j DROP",
        ],
    }


def bridge_exists(net: NodeNetwork) -> bool:
    return Path("/sys/class/net", net.bridge).exists()


def setup_network(net: NodeNetwork) -> None:
    """Create the bridge with the node address, its Service route, the sysctls and the chains."""
    if not bridge_exists(net):
        run(["ip", "link", "add", net.bridge, "type", "bridge"])
    run(["ip", "addr", "replace", f"{net.node_ip}/{net.prefix}", "dev", net.bridge])
    with contextlib.suppress(OSError):  # link-local IPv6 only; pods get IPv4 alone
        write_sysctl(f"net/ipv6/conf/{net.bridge}/disable_ipv6", "1")
    run(["ip", "link", "set", net.bridge, "up"])
    # The host reaches ClusterIPs from the bridge address, so its traffic to them never takes the
    # default route and needs no masquerading on the way back.
    run(["ip", "route", "replace", net.service_cidr, "dev", net.bridge, "src", net.node_ip])
    for key, value in NODE_SYSCTLS.items():
        write_sysctl(key, value)
    for chain, rules in confine_rules(net).items():
        run(["iptables", "-t", "mangle", "-N", chain], check=False)
        run(["iptables", "-t", "mangle", "-F", chain])
        for rule in rules:
            run(["iptables", "-t", "mangle", "-A", chain, *rule.split()])
        parent = CONFINE_CHAINS[chain]
        while succeeds(["iptables", "-t", "mangle", "-D", parent, "-j", chain]):
            pass  # a jump left by an earlier run: it goes, so the new one is the only one, first
        run(["iptables", "-t", "mangle", "-I", parent, "1", "-j", chain])


def teardown_network(net: NodeNetwork) -> None:
    """Remove the bridge (its addresses and routes go with it); chains go with ``remove_new_chains``."""
    if bridge_exists(net):
        run(["ip", "link", "delete", net.bridge], check=False)
