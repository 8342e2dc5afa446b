"""containerd for the node: Debian's containerd and runc, started by hand with the settings this
kind of machine needs, and the locally built images imported into it.

Its root (images, unpacked layers) is kept between runs in the cache, so an image is imported once;
its state (sockets, pod network namespaces, running shims) lives in the cluster's own folder.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from localk8s.errors import ClusterError
from localk8s.host import CNI_BIN_DIR, RUN_ROOT, run, short_dir, succeeds, which
from localk8s.processes import Processes, wait_for

NAMESPACE = "k8s.io"  # the containerd namespace the CRI plugin uses
PAUSE_IMAGE = "mlpy.local/pause:1"
#: The label that records which build of an image containerd holds.
KEY_LABEL = "io.mlpy.build-key"
IMAGES_HINT = "bash scripts/k8s/cluster.sh images"
#: Snapshotters and plugins this node never uses: off, so their probes don't fill the log.
DISABLED_PLUGINS = (
    "io.containerd.snapshotter.v1.aufs",
    "io.containerd.snapshotter.v1.btrfs",
    "io.containerd.snapshotter.v1.zfs",
    "io.containerd.snapshotter.v1.devmapper",
    "io.containerd.internal.v1.tracing",
    "io.containerd.tracing.processor.v1.otlp",
)


@dataclass(frozen=True)
class Containerd:
    root: Path
    state: Path
    cni_conf_dir: Path

    @property
    def socket(self) -> Path:
        return self.state / "containerd.sock"

    @property
    def endpoint(self) -> str:
        return f"unix://{self.socket}"

    @classmethod
    def for_cluster(cls, root: Path, state_dir: Path) -> Containerd:
        """The runtime of the cluster in ``state_dir``: its state under a short path of its own."""
        return cls(root, short_dir(RUN_ROOT, state_dir), state_dir / "cni")

    def config(self) -> str:
        """containerd's TOML; each non-default setting was seen failing without it."""
        cri = 'plugins."io.containerd.grpc.v1.cri"'
        runc = f"{cri}.containerd.runtimes.runc"
        return "\n".join(
            [
                "version = 2",
                f'root = "{self.root}"',
                f'state = "{self.state}"',
                f"disabled_plugins = {json.dumps(list(DISABLED_PLUGINS))}",
                "[grpc]",
                f'  address = "{self.socket}"',
                f"[{cri}]",
                f'  sandbox_image = "{PAUSE_IMAGE}"',  # nothing can be pulled: a local pause image
                # root here lacks CAP_SYS_RESOURCE: without this every sandbox fails to start.
                "  restrict_oom_score_adj = true",
                # Pod network namespaces under the state folder, so stopping finds every one.
                "  netns_mounts_under_state_dir = true",
                '  stream_server_address = "127.0.0.1"',
                f"[{cri}.cni]",
                f'  bin_dir = "{CNI_BIN_DIR}"',
                f'  conf_dir = "{self.cni_conf_dir}"',
                f"[{cri}.containerd]",
                '  snapshotter = "overlayfs"',
                '  default_runtime_name = "runc"',
                f"[{runc}]",
                '  runtime_type = "io.containerd.runc.v2"',
                f"[{runc}.options]",
                f'  BinaryName = "{which("runc") or "runc"}"',  # crun fails on hybrid cgroups
                "  SystemdCgroup = false",
                "",
            ]
        )

    def ctr(self, *args: str, timeout: float = 300.0) -> str:
        return run(["ctr", "--address", str(self.socket), "--namespace", NAMESPACE, *args], timeout=timeout)

    def start(self, procs: Processes, cwd: Path) -> None:
        for d in (self.root, self.state, self.cni_conf_dir):
            d.mkdir(parents=True, exist_ok=True)
        config = self.state / "config.toml"
        config.write_text(self.config())
        procs.spawn("containerd", ["containerd", "--config", str(config)], {**os.environ}, cwd)

        def answers() -> bool:
            procs.check_alive()
            return self.socket.exists() and succeeds(["ctr", "--address", str(self.socket), "version"])

        wait_for("containerd", answers, 30, [procs.log("containerd")])

    def image_keys(self) -> dict[str, str]:
        """Image reference -> the build key it was labelled with at import ("" when unlabelled)."""
        keys: dict[str, str] = {}
        for line in self.ctr("images", "list").splitlines()[1:]:
            fields = line.split()
            if fields:
                match = re.search(rf"{re.escape(KEY_LABEL)}=([^,\s]+)", line)
                keys[fields[0]] = match.group(1) if match else ""
        return keys

    def import_images(self, archives: dict[str, tuple[Path, str]]) -> None:
        """Import ``ref -> (archive, build key)`` unless containerd holds that ref from that build."""
        held = self.image_keys()
        for ref, (archive, key) in archives.items():
            if held.get(ref) == key:
                continue
            if not archive.is_file():
                raise ClusterError(f"image archive {archive} for {ref} is missing: run `{IMAGES_HINT}`")
            self.ctr("images", "import", str(archive), timeout=600)
            if ref not in self.image_keys():
                raise ClusterError(f"importing {archive} did not give containerd the image {ref}")
            self.ctr("images", "label", ref, f"{KEY_LABEL}={key}")

    def remove_containers(self) -> None:
        """Kill every task, wait until containerd has reaped them, then delete every container
        with its snapshot: the node leaves none behind."""
        for task in self.ctr("tasks", "list", "--quiet").split():
            self._quietly("tasks", "kill", "--signal", "SIGKILL", task)
        deadline = time.monotonic() + 15
        while (left := self.ctr("tasks", "list", "--quiet").split()) and time.monotonic() < deadline:
            time.sleep(0.1)
        for task in left:  # not reaped in time: a forced delete
            self._quietly("tasks", "delete", "--force", task)
        for container in self.ctr("containers", "list", "--quiet").split():
            self._quietly("containers", "delete", container)

    def _quietly(self, *args: str) -> bool:
        return succeeds(["ctr", "--address", str(self.socket), "--namespace", NAMESPACE, *args])
