"""How fast the operator turns applied ModelVersions into children, against the cluster's own controller.

One run on a local control plane with kwok nodes (localk8s): the anchor is kube-controller-manager
creating a ReplicaSet for a new Deployment, measured side by side in the same cluster. For 1 and for
200 ModelVersions applied at once, the time from create to its Deployment and Service existing
(p50, p99), the ratio to the anchor, and the operator's resident memory.

    python bench/operator_reconcile.py [--count 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from localk8s import LocalCluster, find_binaries

REPO = Path(__file__).resolve().parents[1]

GROUP, VERSION = "mlpy.io", "v1alpha1"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def watch_creations(
    api: Any, namespace: str, kind: str, seen: dict[str, float], stop: threading.Event
) -> None:
    from kubernetes import client, watch

    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    lister = {
        "Deployment": apps.list_namespaced_deployment,
        "ReplicaSet": apps.list_namespaced_replica_set,
        "Service": core.list_namespaced_service,
    }[kind]
    # Short server-side timeouts: the watch re-opens every few seconds, so it notices ``stop`` and ends
    # before the cluster goes away (a stream cut by a stopping API server would print a traceback).
    while not stop.is_set():
        stream = watch.Watch()  # type: ignore[no-untyped-call]
        try:
            for event in stream.stream(lister, namespace, timeout_seconds=5):  # type: ignore[no-untyped-call]
                if event["type"] == "ADDED":
                    seen.setdefault(event["object"].metadata.name, time.perf_counter())
                if stop.is_set():
                    stream.stop()  # type: ignore[no-untyped-call]
        except Exception:
            if not stop.is_set():
                raise


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Watchers:
    """One watch per kind for the whole run, so a batch never waits for streams to close: the time each
    object of a kind was first seen, by name (names are unique across batches)."""

    KINDS = ("Deployment", "Service", "ReplicaSet")

    def __init__(self, api: Any, namespace: str) -> None:
        self.seen: dict[str, dict[str, float]] = {kind: {} for kind in self.KINDS}
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(
                target=watch_creations, args=(api, namespace, kind, self.seen[kind], self.stop), daemon=True
            )
            for kind in self.KINDS
        ]
        for thread in self.threads:
            thread.start()
        time.sleep(1.0)  # the streams are open before the first create

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)


def run_batch(api: Any, watchers: Watchers, namespace: str, count: int, anchor: bool) -> list[float]:
    """Create ``count`` objects at once; seconds from each create to its children (or ReplicaSet)."""
    from kubernetes import client

    custom, apps = client.CustomObjectsApi(api), client.AppsV1Api(api)
    kinds = ("ReplicaSet", "ReplicaSet") if anchor else ("Deployment", "Service")
    seen_a, seen_b = watchers.seen[kinds[0]], watchers.seen[kinds[1]]
    created: dict[str, float] = {}
    for i in range(count):
        name = f"{'anchor' if anchor else 'bench'}-{count}-{i}"
        created[name] = time.perf_counter()
        if anchor:
            labels = {"app": name}
            apps.create_namespaced_deployment(
                namespace,
                client.V1Deployment(
                    metadata=client.V1ObjectMeta(name=name),
                    spec=client.V1DeploymentSpec(
                        replicas=0,
                        selector=client.V1LabelSelector(match_labels=labels),
                        template=client.V1PodTemplateSpec(
                            metadata=client.V1ObjectMeta(labels=labels),
                            spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="x")]),
                        ),
                    ),
                ),
            )
        else:
            body = {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": "ModelVersion",
                "metadata": {"name": name},
                "spec": {
                    "model": f"m{count}-{i}",
                    "version": 1,
                    "replicas": 0,
                    "artifact": {"uri": "s3://bench/m.skops", "sha256": "d" * 64},
                },
            }
            custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "modelversions", body)
    deadline = time.monotonic() + 600
    latencies: list[float] = []
    while time.monotonic() < deadline:
        done = []
        # Copies: the watcher threads keep adding while we look. A ReplicaSet is "<deployment>-<hash>".
        first = {k.rsplit("-", 1)[0] if anchor else k: v for k, v in list(seen_a.items())}
        second = dict(list(seen_b.items()))
        for name, start in created.items():
            child = first.get(name)
            other = child if anchor else second.get(name)
            if child is not None and other is not None:
                done.append(max(child, other) - start)
        if len(done) == count:
            latencies = done
            break
        time.sleep(0.2)
    if len(latencies) != count:
        raise SystemExit(f"only {len(latencies)} of {count} got children within 10 minutes")
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args()
    from kubernetes import client, config

    with tempfile.TemporaryDirectory(prefix="mlpy-bench-k8s-") as state:
        # kwok nodes: the 200 ModelVersions' pods report Running without running.
        cluster = LocalCluster(Path(state), find_binaries(), die_with_parent=True, node="off")
        cluster.start()
        try:
            env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig), "MLPY_OPERATOR_METRICS_PORT": "0"}
            kubectl = str(find_binaries()["kubectl"])
            subprocess.run(
                [kubectl, "apply", "--server-side", "-f", str(REPO / "crds")],
                env=env,
                check=True,
                capture_output=True,
            )
            subprocess.run(
                [kubectl, "wait", "--for=condition=Established", "--all", "crd", "--timeout=60s"],
                env=env,
                check=True,
                capture_output=True,
            )
            api = config.new_client_from_config(config_file=str(cluster.kubeconfig))  # type: ignore[no-untyped-call]
            client.CoreV1Api(api).create_namespace(
                client.V1Namespace(metadata=client.V1ObjectMeta(name="bench"))
            )
            operator = subprocess.Popen(
                [sys.executable, "-m", "mlpy_operator"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                time.sleep(5)
                rss_idle = rss_mb(operator.pid)
                rows = []
                watchers = Watchers(api, "bench")
                try:
                    for count in (1, args.count):
                        ours = run_batch(api, watchers, "bench", count, anchor=False)
                        anchor = run_batch(api, watchers, "bench", count, anchor=True)
                        rows.append((count, ours, anchor))
                finally:
                    watchers.close()
                rss_busy = rss_mb(operator.pid)
            finally:
                operator.terminate()
                try:
                    operator.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    print("operator did not stop within 60 s of SIGTERM; killed", file=sys.stderr)
                    operator.kill()
        finally:
            cluster.stop()

    print(f"\n{'resources':>9} | {'mlpy p50':>9} {'p99':>8} | {'anchor p50':>10} {'p99':>8} | ratio p50  p99")
    for count, ours, anchor in rows:
        o50, o99 = statistics.median(ours), percentile(ours, 0.99)
        a50, a99 = statistics.median(anchor), percentile(anchor, 0.99)
        ours_ms = f"{o50 * 1000:>7.0f}ms {o99 * 1000:>6.0f}ms"
        anchor_ms = f"{a50 * 1000:>8.0f}ms {a99 * 1000:>6.0f}ms"
        print(f"{count:>9} | {ours_ms} | {anchor_ms} | {o50 / a50:>5.1f}x {o99 / a99:>5.1f}x")
    print(f"operator resident memory: {rss_idle:.0f} MB idle, {rss_busy:.0f} MB after {args.count} versions")
    print("anchor: kube-controller-manager creating the ReplicaSet of a new Deployment, in the same cluster")


if __name__ == "__main__":
    main()
