"""API keys and JWT bearer tokens, mapped to roles; secure by default.

Keys are configured as SHA-256 hashes only (``name:role:sha256hex``) and compared in constant time.
With no credential configured, predictions and reads are open but admin calls are refused: a server
that nobody secured must not let anyone swap its model.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from mlpy_server.errors import AuthenticationError, PermissionDeniedError, ServerConfigError
from mlpy_server.settings import ServerSettings

log = logging.getLogger("mlpy.server.auth")


class Role(StrEnum):
    predict = "predict"
    read = "read"
    admin = "admin"


class Permission(StrEnum):
    predict = "predict"
    read = "read"
    admin = "admin"


GRANTS: dict[Role, frozenset[Permission]] = {
    # Inference clients read model metadata first (KServe and Triton clients do).
    Role.predict: frozenset({Permission.predict, Permission.read}),
    Role.read: frozenset({Permission.read}),
    Role.admin: frozenset(Permission),
}

NO_ADMIN_HINT = (
    "admin calls are off until an admin credential is configured: set "
    "MLPY_API_KEYS=NAME:admin:SHA256 (print the hash with 'mlpy serve --hash-key KEY') or MLPY_JWT_SECRET"
)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role
    via: str


@dataclass(frozen=True)
class _Key:
    name: str
    role: Role
    digest: bytes


class Authenticator:
    def __init__(self, settings: ServerSettings) -> None:
        self._keys = tuple(_parse_key(entry) for entry in settings.api_keys)
        self._jwt_key = settings.jwt_public_key or settings.jwt_secret
        self._jwt_algorithms = [
            a for a in settings.jwt_algorithms if a.startswith("HS") == (settings.jwt_public_key is None)
        ]
        if self._jwt_key and not self._jwt_algorithms:
            raise ServerConfigError(
                "MLPY_JWT_ALGORITHMS names no algorithm that fits the configured key",
                hint="HS256 for MLPY_JWT_SECRET, RS256 or ES256 for MLPY_JWT_PUBLIC_KEY",
            )
        if settings.jwt_public_key is not None and self._jwt_algorithms:
            self._jwt_algorithms = _usable_algorithms(settings.jwt_public_key, self._jwt_algorithms)
        self._audience = settings.jwt_audience
        self._issuer = settings.jwt_issuer
        self._role_claim = settings.jwt_role_claim

    @property
    def enabled(self) -> bool:
        """Whether any credential is configured (then every protected call needs one)."""
        return bool(self._keys) or self._jwt_key is not None

    def describe(self) -> dict[str, Any]:
        return {
            "api_keys": [{"name": k.name, "role": str(k.role)} for k in self._keys],
            "jwt": self._jwt_key is not None,
        }

    def require(
        self, permission: Permission, authorization: str | None, api_key: str | None
    ) -> Principal | None:
        """The caller if allowed; raises 401 (who are you?) or 403 (not allowed) otherwise."""
        if not self.enabled:
            if permission is Permission.admin:
                raise PermissionDeniedError("admin calls are refused on this server", hint=NO_ADMIN_HINT)
            return None
        principal = self.identify(authorization, api_key)
        if permission not in GRANTS[principal.role]:
            raise PermissionDeniedError(
                f"{principal.via} {principal.name!r} has role {principal.role}, which may not {permission}",
                hint="use a credential with the admin role" if permission is Permission.admin else None,
            )
        return principal

    def identify(self, authorization: str | None, api_key: str | None) -> Principal:
        token = api_key
        if token is None and authorization:
            scheme, _, credential = authorization.partition(" ")
            if scheme.lower() != "bearer" or not credential.strip():
                raise AuthenticationError("the Authorization header must be 'Bearer <key or token>'")
            token = credential.strip()
        if not token:
            raise AuthenticationError(
                "this call needs a credential",
                hint="send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
            )
        if self._jwt_key is not None and token.count(".") == 2:
            return self._from_jwt(token)
        digest = hashlib.sha256(token.encode()).digest()
        found: _Key | None = None
        for key in self._keys:  # no early exit: the time taken says nothing about which key matched
            if hmac.compare_digest(digest, key.digest):
                found = key
        if found is None:
            raise AuthenticationError("unknown API key", hint="check the key, or ask for one")
        return Principal(found.name, found.role, "API key")

    def _from_jwt(self, token: str) -> Principal:
        import jwt

        assert self._jwt_key is not None
        try:
            claims = jwt.decode(
                token,
                self._jwt_key,
                algorithms=self._jwt_algorithms,
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp"], "verify_aud": self._audience is not None},
            )
        except jwt.PyJWTError as exc:
            raise AuthenticationError(f"invalid token: {exc}") from exc
        raw_role = claims.get(self._role_claim)
        roles = raw_role if isinstance(raw_role, list) else [raw_role]
        if raw_role is not None and not all(isinstance(r, str) for r in roles):
            raise AuthenticationError(
                f"invalid token: the {self._role_claim!r} claim must be a string or a list of strings",
                hint="issue the token with a role of predict, read or admin",
            )
        known = [Role(str(r)) for r in roles if r in Role.__members__]
        if not known:
            raise PermissionDeniedError(
                f"the token has no {self._role_claim!r} claim with predict, read or admin"
            )
        best = max(known, key=lambda r: len(GRANTS[r]))
        return Principal(str(claims.get("sub", "token")), best, "token")


def _usable_algorithms(key: str, algorithms: list[str]) -> list[str]:
    """The algorithms that can verify with ``key``; refuses to start when none can (or cryptography is
    missing), rather than answer every token with 401 later."""
    import jwt

    usable, problems = [], []
    for name in algorithms:
        try:
            jwt.get_algorithm_by_name(name).prepare_key(key)
        except NotImplementedError as exc:
            if name in jwt.algorithms.requires_cryptography and not jwt.algorithms.has_crypto:
                raise ServerConfigError(
                    f"MLPY_JWT_ALGORITHMS names {name}, which needs the cryptography package",
                    hint="install mlpy[server] (it brings pyjwt[crypto]), or use HS256 with MLPY_JWT_SECRET",
                ) from exc
            raise ServerConfigError(
                f"MLPY_JWT_ALGORITHMS names {name!r}, which is not a JWT algorithm",
                hint="use RS256 or ES256 with MLPY_JWT_PUBLIC_KEY",
            ) from exc
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            problems.append(f"{name}: {exc}")
        else:
            usable.append(name)
    if not usable:
        raise ServerConfigError(
            f"MLPY_JWT_PUBLIC_KEY is not a public key that {', '.join(algorithms)} can use"
            f" ({'; '.join(problems)})",
            hint="give the PEM text (BEGIN PUBLIC KEY) of an RSA key for RS256 or an EC key for ES256",
        )
    return usable


def _parse_key(entry: str) -> _Key:
    name, role, digest = ([*entry.split(":"), "", "", ""])[:3]
    if entry.count(":") != 2 or not name:
        raise ServerConfigError(
            "an MLPY_API_KEYS entry is malformed", hint="use NAME:ROLE:SHA256HEX entries separated by commas"
        )
    if role not in Role.__members__:
        raise ServerConfigError(
            f"API key {name!r} has unknown role {role!r}", hint="use predict, read or admin"
        )
    try:
        raw = bytes.fromhex(digest)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise ServerConfigError(
            f"API key {name!r} must be given as its SHA-256 hex digest, not the key itself",
            hint="print the digest with 'mlpy serve --hash-key KEY'",
        )
    return _Key(name, Role(role), raw)
