"""Certificates and kubeconfigs: one throw-away CA, an identity per component, nothing shared.

Client identities are the ones Kubernetes' bootstrap RBAC policy knows (``system:kube-scheduler``,
``system:node:<name>`` in ``system:nodes``, ``system:kube-proxy``), so every component runs with its
real, narrow permissions; only ``admin`` is in ``system:masters``.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

#: The user kube-apiserver presents to kubelets (logs, exec, port-forward); RBAC grants it
#: ``system:kubelet-api-admin`` and the kubelet checks it with a webhook.
KUBELET_CLIENT_USER = "kube-apiserver-kubelet-client"
#: CoreDNS reads Services and EndpointSlices as this user (a ClusterRole the cluster creates).
COREDNS_USER = "mlpy:coredns"


@dataclass(frozen=True)
class Pki:
    """Paths of every certificate and key, all issued by ``ca_crt``."""

    ca_crt: Path
    ca_key: Path
    serving_crt: Path
    serving_key: Path
    sa_key: Path
    sa_pub: Path
    clients: dict[str, tuple[Path, Path]]
    #: The kubelet's serving certificate (its node name and IP), when a real node is part of the cluster.
    kubelet_serving: tuple[Path, Path] | None = None


def _name(cn: str, org: str | None = None) -> x509.Name:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(attrs)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> None:
    from cryptography.hazmat.primitives import serialization

    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def make_pki(
    directory: Path,
    api_ips: Sequence[str],
    service_ip: str,
    node: tuple[str, str] | None = None,
) -> Pki:
    """Generate the CA, the API server's serving cert (``api_ips`` and ``service_ip`` as SANs), the
    service-account key and every client cert; with ``node=(name, ip)`` the kubelet's too."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID

    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("mlpy-e2e-ca")
    usage = x509.KeyUsage(
        digital_signature=True,
        key_cert_sign=True,
        crl_sign=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        encipher_only=False,
        decipher_only=False,
    )
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .sign(ca_key, hashes.SHA256())
    )

    def issue(
        stem: str, subject: x509.Name, server: bool, ips: Sequence[str] = (), dns: Sequence[str] = ()
    ) -> tuple[Path, Path]:
        key = ec.generate_private_key(ec.SECP256R1())
        purpose = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([purpose]), critical=False)
        )
        if server:
            names: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
            names += [x509.DNSName(d) for d in dns]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        crt_path, key_path = directory / f"{stem}.crt", directory / f"{stem}.key"
        crt_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(key_path, key)
        return crt_path, key_path

    ca_crt, ca_key_path = directory / "ca.crt", directory / "ca.key"
    ca_crt.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    _write_key(ca_key_path, ca_key)
    service_names = ["kubernetes", "kubernetes.default", "kubernetes.default.svc"]
    serving_crt, serving_key = issue(
        "apiserver",
        _name("kube-apiserver"),
        server=True,
        ips=list(dict.fromkeys([*api_ips, service_ip])),
        dns=["localhost", *service_names, "kubernetes.default.svc.cluster.local"],
    )
    # RSA: the service-account token signer is the key type every component accepts.
    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    sa_key_path, sa_pub_path = directory / "sa.key", directory / "sa.pub"
    _write_key(sa_key_path, sa_key)
    sa_pub_path.write_bytes(
        sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    identities: dict[str, x509.Name] = {
        "admin": _name("mlpy-e2e-admin", "system:masters"),
        "kube-controller-manager": _name("system:kube-controller-manager"),
        "kube-scheduler": _name("system:kube-scheduler"),
        # The aggregation layer's identity when it proxies to extension API servers.
        "front-proxy-client": _name("front-proxy-client"),
        # kwok patches node and pod status and renews leases: it acts for every fake node.
        "kwok": _name("mlpy-e2e-kwok", "system:masters"),
    }
    kubelet_serving = None
    if node is not None:
        node_name, node_ip = node
        identities["kubelet"] = _name(f"system:node:{node_name}", "system:nodes")
        identities["kube-proxy"] = _name("system:kube-proxy")
        identities["coredns"] = _name(COREDNS_USER)
        identities["apiserver-kubelet-client"] = _name(KUBELET_CLIENT_USER)
        kubelet_serving = issue(
            "kubelet-serving", _name(node_name), server=True, ips=[node_ip], dns=[node_name]
        )
    clients = {user: issue(user, subject, server=False) for user, subject in identities.items()}
    return Pki(
        ca_crt, ca_key_path, serving_crt, serving_key, sa_key_path, sa_pub_path, clients, kubelet_serving
    )


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
