"""The key routers sign request ids with: one per experiment, shared through its statistics store."""

from __future__ import annotations

import secrets


def new_signing_key() -> str:
    """256 random bits, hex: what a statistics store keeps when an experiment has no key yet."""
    return secrets.token_hex(32)
