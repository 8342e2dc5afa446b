"""What a training Job's objects say about its run, read from their status (pure functions).

The run row says how the training went once it started; these say why it never did (a wrong image,
a missing Secret, no node to run on) or why its pod died without recording anything (out of memory,
the deadline), so ``mlpy train run --wait`` reports a failed run instead of waiting for ever.
"""

from __future__ import annotations

from typing import Any

#: A container waiting for one of these will not start without a change (the image, the spec).
FATAL_WAITING = {
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
}


def job_failure(job: dict[str, Any]) -> str | None:
    """The Job's Failed condition (DeadlineExceeded, BackoffLimitExceeded), as one line."""
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Failed" and condition.get("status") == "True":
            return _line(condition.get("reason"), condition.get("message"))
    return None


def pod_failure(pod: dict[str, Any]) -> str | None:
    """Why the pod cannot run or ended badly: a container stuck on a fatal reason, or the pod failed
    (each container's termination reason and exit code, else the pod's own reason)."""
    status = pod.get("status") or {}
    containers = [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]
    for container in containers:
        waiting = (container.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") in FATAL_WAITING:
            return f"container {container.get('name')}: " + _line(waiting["reason"], waiting.get("message"))
    if status.get("phase") != "Failed":
        return None
    for container in containers:
        ended = (container.get("state") or {}).get("terminated") or {}
        if ended and ended.get("exitCode") != 0:
            reason = f"{ended.get('reason') or 'Error'} (exit code {ended.get('exitCode')})"
            return f"container {container.get('name')}: " + _line(reason, ended.get("message"))
    return _line(status.get("reason") or "Failed", status.get("message"))


def not_started(pod: dict[str, Any] | None) -> str:
    """Why a pod has not started yet, for a run that waited too long: unscheduled, or waiting."""
    if pod is None:
        return "no pod was created"
    status = pod.get("status") or {}
    for condition in status.get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") != "True":
            return "pod not scheduled: " + _line(condition.get("reason"), condition.get("message"))
    for container in [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]:
        waiting = (container.get("state") or {}).get("waiting")
        if waiting:
            return f"container {container.get('name')} waiting: " + _line(
                waiting.get("reason"), waiting.get("message")
            )
    return f"pod {status.get('phase') or 'Pending'}"


def image_digest(pod: dict[str, Any], container: str) -> str | None:
    """The image the container really runs, by content (``containerStatuses[].imageID``)."""
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        if status.get("name") == container and status.get("imageID"):
            return str(status["imageID"])
    return None


def _line(reason: Any, message: Any) -> str:
    text = " ".join(str(message or "").split())
    return f"{reason or 'Unknown'}: {text}" if text else str(reason or "Unknown")
