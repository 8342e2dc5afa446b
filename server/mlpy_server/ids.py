"""Request ids: taken from the caller when sane, else generated, so one id follows a request everywhere."""

from __future__ import annotations

import itertools
import os
import re

_SAFE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_PREFIX = os.urandom(6).hex()
_counter = itertools.count(1)


def new_request_id() -> str:
    """Unique per process start and cheap: a random prefix and a counter (no uuid4 per request)."""
    return f"{_PREFIX}{next(_counter):010x}"


def accept_request_id(value: str | None) -> str:
    """The caller's id if it is short and printable (it ends up in logs and headers), else a new one."""
    if value and _SAFE.match(value):
        return value
    return new_request_id()
