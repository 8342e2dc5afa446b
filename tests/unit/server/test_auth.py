"""Roles, keys stored as hashes, JWT, and admin calls refused when nobody configured an admin."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import jwt
import pytest
from fastapi.testclient import TestClient

from mlpy_server.auth import Authenticator, Permission, hash_key
from mlpy_server.errors import AuthenticationError, PermissionDeniedError, ServerConfigError
from mlpy_server.settings import ServerSettings

KEYS = {"ops-key": "admin", "app-key": "predict", "dash-key": "read"}
SECRET = "jwt-secret-for-tests-0123456789abcdef"


def keyed(**extra: object) -> dict[str, object]:
    return {"api_keys": tuple(f"{k.split('-')[0]}:{role}:{hash_key(k)}" for k, role in KEYS.items()), **extra}


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def test_without_any_credential_predictions_are_open_but_admin_calls_refused(client: TestClient) -> None:
    assert client.post("/predict", json={"features": [1, 2, 3]}).status_code == 200
    assert client.get("/models").status_code == 200
    for response in (client.post("/models/lin/reload"), client.delete("/models/lin")):
        assert response.status_code == 403
        assert "MLPY_API_KEYS=NAME:admin:SHA256" in response.json()["error"]
    assert client.get("/models").json()[0]["id"] == "lin"


def test_roles(make_client: Callable[..., TestClient]) -> None:
    client = make_client(**keyed())
    body = {"features": [1, 2, 3]}
    anonymous = client.post("/predict", json=body)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert client.post("/predict", json=body, headers=bearer("wrong")).json()["code"] == "unauthenticated"
    assert client.post("/predict", json=body, headers=bearer("app-key")).status_code == 200
    assert client.post("/predict", json=body, headers={"X-API-Key": "app-key"}).status_code == 200
    assert client.post("/predict", json=body, headers=bearer("dash-key")).status_code == 403
    assert client.get("/models", headers=bearer("dash-key")).status_code == 200
    assert client.post("/models/lin/reload", headers=bearer("app-key")).status_code == 403
    assert client.get("/healthz").status_code == 200
    assert client.get("/metrics").status_code == 200
    reloaded = client.post("/models/lin/reload", headers=bearer("ops-key"))
    assert reloaded.status_code == 200, reloaded.text
    assert reloaded.json()["previous"]["version"] == "1"
    assert client.delete("/models/lin", headers=bearer("ops-key")).json()["deleted"]["name"] == "lin"
    assert client.get("/models", headers=bearer("ops-key")).json() == []
    assert client.post("/predict", json=body, headers=bearer("ops-key")).status_code == 404


def test_jwt_role_claim(make_client: Callable[..., TestClient]) -> None:
    client = make_client(jwt_secret=SECRET)

    def token(role: object, expires_in: float = 60) -> str:
        return jwt.encode({"sub": "alice", "role": role, "exp": time.time() + expires_in}, SECRET, "HS256")

    assert client.post("/models/lin/reload", headers=bearer(token("admin"))).status_code == 200
    assert client.post("/models/lin/reload", headers=bearer(token("predict"))).status_code == 403
    assert (
        client.post(
            "/predict", json={"features": [1, 2, 3]}, headers=bearer(token(["read", "predict"]))
        ).status_code
        == 200
    )
    expired = client.get("/models", headers=bearer(token("read", -10)))
    assert expired.status_code == 401
    assert "expired" in expired.json()["error"]
    forged = jwt.encode(
        {"role": "admin", "exp": time.time() + 60}, "another-secret-0123456789abcdef-0123", "HS256"
    )
    assert client.get("/models", headers=bearer(forged)).status_code == 401
    assert client.get("/models", headers=bearer(token("superuser"))).status_code == 403


@pytest.mark.parametrize("role", [{"admin": 1}, [{"admin": 1}], 7, ["admin", ["read"]]])
def test_a_role_claim_that_is_not_text_is_a_401(make_client: Callable[..., TestClient], role: object) -> None:
    client = make_client(jwt_secret=SECRET)
    token = jwt.encode({"sub": "mallory", "role": role, "exp": time.time() + 60}, SECRET, "HS256")
    for response in (
        client.get("/models", headers=bearer(token)),
        client.post("/predict", json={"features": [1, 2, 3]}, headers=bearer(token)),
        client.post("/models/lin/reload", headers=bearer(token)),
    ):
        assert response.status_code == 401, response.text
        assert "must be a string or a list of strings" in response.json()["error"]


@pytest.mark.parametrize("kind", ["RS256", "ES256"])
def test_public_key_tokens_verify_with_what_ships(make_client: Callable[..., TestClient], kind: str) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    private = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if kind == "RS256"
        else ec.generate_private_key(ec.SECP256R1())
    )
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    client = make_client(jwt_public_key=public_pem)
    token = jwt.encode({"sub": "ci", "role": "admin", "exp": time.time() + 60}, private, kind)
    assert client.post("/models/lin/reload", headers=bearer(token)).status_code == 200
    # With a public key configured, HMAC tokens are not accepted at all.
    hs = jwt.encode({"role": "admin", "exp": time.time() + 60}, SECRET, "HS256")
    refused = client.get("/models", headers=bearer(hs))
    assert refused.status_code == 401
    assert "alg value is not allowed" in refused.json()["error"]


def test_a_public_key_nothing_can_use_stops_the_start() -> None:
    with pytest.raises(ServerConfigError, match="not a public key that RS256, ES256 can use"):
        Authenticator(ServerSettings(jwt_public_key="not a key"))
    with pytest.raises(ServerConfigError, match="'XX256', which is not a JWT algorithm"):
        Authenticator(ServerSettings(jwt_public_key="not a key", jwt_algorithms=("XX256",)))
    with pytest.raises(ServerConfigError, match="no algorithm that fits"):
        Authenticator(ServerSettings(jwt_public_key="x", jwt_algorithms=("HS256",)))


def test_keys_must_be_hashes_and_are_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(ServerConfigError, match="SHA-256 hex digest") as info:
        Authenticator(ServerSettings(api_keys=("ops:admin:plain-secret-key",)))
    assert "plain-secret-key" not in str(info.value)
    with pytest.raises(ServerConfigError, match="unknown role 'root'"):
        Authenticator(ServerSettings(api_keys=(f"ops:root:{hash_key('k')}",)))
    with pytest.raises(ServerConfigError, match="malformed"):
        Authenticator(ServerSettings(api_keys=("just-a-key",)))
    auth = Authenticator(ServerSettings(**keyed()))  # type: ignore[arg-type]
    assert "ops-key" not in repr(ServerSettings(**keyed()))  # type: ignore[arg-type]
    caplog.set_level(logging.DEBUG)
    with pytest.raises(AuthenticationError) as failure:
        auth.require(Permission.predict, "Bearer guess-key", None)
    assert "guess-key" not in str(failure.value)
    with pytest.raises(AuthenticationError, match="Bearer"):
        auth.require(Permission.predict, "Basic abc", None)
    with pytest.raises(PermissionDeniedError, match="role read"):
        auth.require(Permission.admin, None, "dash-key")
    assert all("key" not in record.getMessage() for record in caplog.records)


def test_cors_is_off_by_default_and_configurable(make_client: Callable[..., TestClient]) -> None:
    closed = make_client()
    preflight = {"Origin": "https://ui.example", "Access-Control-Request-Method": "POST"}
    assert "access-control-allow-origin" not in closed.options("/predict", headers=preflight).headers
    opened = make_client(cors_origins=("https://ui.example",))
    answer = opened.options("/predict", headers=preflight)
    assert answer.headers["access-control-allow-origin"] == "https://ui.example"
