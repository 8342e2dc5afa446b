"""Why a serving pod is not Ready, in its own words: its ``/readyz`` answer (503 with the reason).

The API server only knows a readiness probe failed; the server knows what it waits for, and a hash
mismatch names both hashes. The operator asks the pod directly (pods are reachable from the operator's
pod), with a short timeout: an unreachable pod is simply not explained.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from mlpy_operator.constants import SERVER_PORT

TIMEOUT_S = 1.0


def readiness_reason(pod_ip: str, port: int = SERVER_PORT) -> str | None:
    """The pod's reason for not being ready, or None (ready, unreachable, or no reason given)."""
    try:
        with urllib.request.urlopen(f"http://{pod_ip}:{port}/readyz", timeout=TIMEOUT_S):
            return None
    except urllib.error.HTTPError as exc:
        try:
            body = json.loads(exc.read() or b"{}")
        except ValueError:
            return None
        error = body.get("error") if isinstance(body, dict) else None  # the server's ErrorResponse
        return str(error) if error else None
    except (OSError, ValueError):
        return None
