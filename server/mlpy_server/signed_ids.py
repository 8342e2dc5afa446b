"""Request ids that carry, signed, the variant that served them: feedback finds its variant on any replica.

A router issues ``BASE.vINDEX-MAC`` for each routed request, where MAC is a truncated HMAC-SHA256 of the
base id and the variant's name under the experiment's key. Every replica shares the key through the
statistics backend, so whichever replica receives the feedback can verify the id and credit the variant
without remembering anything, and a client cannot credit a variant of its choosing.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from mlpy_server.ids import new_request_id

MAC_HEX = 16  # 64 bits: a forger needs about 2**63 tries, each one a request
#: The longest base id kept as given; longer caller ids are replaced so the signed id stays <= 64.
MAX_BASE = 64 - len(".v99-") - MAC_HEX


class RequestIdSigner:
    def __init__(self, key: str, variants: Sequence[str]) -> None:
        self._key = key.encode()
        self._variants = tuple(variants)
        self._index = {name: i for i, name in enumerate(self._variants)}

    def _mac(self, base: str, variant: str) -> str:
        digest = hmac.new(self._key, f"{base}\x00{variant}".encode(), hashlib.sha256).hexdigest()
        return digest[:MAC_HEX]

    def issue(self, request_id: str, variant: str) -> str:
        """The id sent to the variant and returned to the client, naming ``variant`` verifiably."""
        base = self.base_of(request_id)
        if len(base) > MAX_BASE:
            base = new_request_id()
        return f"{base}.v{self._index[variant]}-{self._mac(base, variant)}"

    def variant_of(self, request_id: str) -> str | None:
        """The variant a genuine id names; None for an id this experiment's routers did not issue."""
        base, dot, tail = request_id.rpartition(".")
        if not dot or not tail.startswith("v"):
            return None
        index, dash, mac = tail[1:].partition("-")
        if not dash or not (index.isascii() and index.isdigit()) or int(index) >= len(self._variants):
            return None
        variant = self._variants[int(index)]
        return variant if hmac.compare_digest(mac, self._mac(base, variant)) else None

    def base_of(self, request_id: str) -> str:
        """The id without a signature of ours (a client that resends an id we issued)."""
        return request_id.rpartition(".")[0] if self.variant_of(request_id) is not None else request_id
