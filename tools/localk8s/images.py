"""The images, built here without a registry: both Dockerfiles as written, on a stand-in base.

No image registry is reachable, so the one thing substituted is the base image: a Debian root
filesystem made by mmdebstrap from Debian's packages, committed into buildah's storage under the
exact name the Dockerfiles' ``FROM`` lines use. Then ``buildah bud`` builds each Dockerfile
unchanged (``--pull=never``: nothing is fetched from a registry; pip reaches PyPI as on the host,
with the host's pip settings and CA mounted for the build). Each image is saved as an archive in the
cache, keyed by a hash of everything it is built from, so an unchanged image is never rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from localk8s.binaries import REPO, cache_root
from localk8s.containerd import PAUSE_IMAGE
from localk8s.errors import ClusterError, ImageBuildError
from localk8s.host import run, succeeds, which

PAUSE_SOURCE = Path(__file__).with_name("pause")
KEY_LABEL = "io.mlpy.build-key"
#: The stand-in for ``python:<tag>-slim-<release>``: Debian's Python and what the Dockerfiles call.
BASE_PACKAGES = ("python3", "python3-venv", "python-is-python3", "passwd", "ca-certificates")
BASE_SUITE = "bookworm"
#: Trimmed as the slim images are: no documentation, manual pages or translations.
BASE_DPKG_OPTIONS = (
    "path-exclude=/usr/share/doc/*",
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/locale/*",
    "path-include=/usr/share/locale/locale.alias",
)
#: What the Dockerfiles copy (the .dockerignore admits these and nothing else).
CONTEXT = ("pyproject.toml", "constraints.txt", "README.md", "mlpy", "server", "operator")
SKIP_PARTS = ("__pycache__", ".egg-info")
BUILD_TOOLS = ("buildah", "mmdebstrap", "go")


@dataclass(frozen=True)
class Image:
    ref: str
    archive: Path
    key: str
    bytes: int


def app_version() -> str:
    match = re.search(
        r'^appVersion:\s*"?([^"\s]+)"?', (REPO / "helm" / "mlpy" / "Chart.yaml").read_text(), re.M
    )
    if not match:
        raise ImageBuildError("helm/mlpy/Chart.yaml has no appVersion: it names the images' tag")
    return match.group(1)


def product_images() -> dict[str, Path]:
    """Image reference -> its Dockerfile: the names the chart and the operator default to."""
    tag = app_version()
    return {
        f"ghcr.io/mlpy/mlpy-server:{tag}": REPO / "Dockerfile.server",
        f"ghcr.io/mlpy/mlpy-operator:{tag}": REPO / "Dockerfile.operator",
    }


def base_names(dockerfiles: Iterable[Path]) -> list[str]:
    """Every image the Dockerfiles build ``FROM`` (stages named in the file excluded)."""
    names: list[str] = []
    for dockerfile in dockerfiles:
        stages: set[str] = set()
        for match in re.finditer(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", dockerfile.read_text(), re.M | re.I):
            if match.group(1) not in stages:
                names.append(match.group(1))
            if match.group(2):
                stages.add(match.group(2))
    return list(dict.fromkeys(names))


def images_dir() -> Path:
    return cache_root() / "images"


def _hash_files(digest: hashlib._Hash, root: Path, names: Iterable[str]) -> None:
    for name in names:
        path = root / name
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for f in files:
            rel = f.relative_to(root).as_posix()
            if any(part in rel for part in SKIP_PARTS) or rel.endswith(".pyc"):
                continue
            digest.update(rel.encode() + b"\0" + f.read_bytes() + b"\0")


def base_key() -> str:
    recipe = json.dumps([BASE_SUITE, BASE_PACKAGES, BASE_DPKG_OPTIONS]).encode()
    return hashlib.sha256(recipe).hexdigest()[:16]


def image_key(dockerfile: Path) -> str:
    digest = hashlib.sha256(base_key().encode())
    digest.update(dockerfile.read_bytes())
    _hash_files(digest, REPO, [*CONTEXT, ".dockerignore"])
    return digest.hexdigest()[:16]


def pause_key() -> str:
    digest = hashlib.sha256()
    _hash_files(digest, PAUSE_SOURCE, ["main.go", "go.mod"])
    return digest.hexdigest()[:16]


def index_path() -> Path:
    return images_dir() / "index.json"


def read_index() -> dict[str, Image]:
    try:
        raw = json.loads(index_path().read_text())
    except (OSError, ValueError):
        return {}
    return {ref: Image(ref, Path(v["archive"]), v["key"], int(v["bytes"])) for ref, v in raw.items()}


def _write_index(images: dict[str, Image]) -> None:
    data = {i.ref: {"archive": str(i.archive), "key": i.key, "bytes": i.bytes} for i in images.values()}
    index_path().write_text(json.dumps(data, indent=2))


def wanted() -> dict[str, str]:
    """Every image the node runs -> the key of its current sources."""
    keys = {PAUSE_IMAGE: pause_key()}
    keys.update({ref: image_key(dockerfile) for ref, dockerfile in product_images().items()})
    return keys


def stale_images() -> list[str]:
    """The images whose archive is missing or was built from other sources than the checkout's."""
    index = read_index()
    return [
        ref
        for ref, key in wanted().items()
        if ref not in index or index[ref].key != key or not index[ref].archive.is_file()
    ]


def current_images() -> dict[str, Image]:
    index = read_index()
    return {ref: index[ref] for ref in wanted() if ref in index}


def build_blockers() -> list[str]:
    if os.geteuid() != 0:
        return ["not root: buildah and mmdebstrap build images as root here"]
    missing = [
        t
        for t in BUILD_TOOLS
        if which(t) is None and not (t == "go" and Path("/usr/local/go/bin/go").exists())
    ]
    return [f"image build tools missing: {', '.join(missing)}"] if missing else []


def _buildah_label(ref: str) -> str | None:
    if not succeeds(["buildah", "inspect", "--type", "image", ref]):
        return None
    fmt = '{{index .OCIv1.Config.Labels "' + KEY_LABEL + '"}}'
    return run(["buildah", "inspect", "--type", "image", "--format", fmt, ref]).strip()


def ensure_base(names: list[str], log: Path) -> None:
    """The stand-in base under each ``FROM`` name, made once from Debian's packages."""
    key = base_key()
    if all(_buildah_label(n) == key for n in names):
        return
    rootfs = images_dir() / f"base-{key}.tar"
    if not rootfs.is_file():
        partial = rootfs.with_suffix(".partial")
        argv = ["mmdebstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}"]
        argv += [f"--dpkgopt={o}" for o in BASE_DPKG_OPTIONS]
        argv += ['--aptopt=Acquire::Languages "none"', BASE_SUITE, str(partial)]
        _logged(argv, log, timeout=1200)
        partial.rename(rootfs)
    container = run(["buildah", "from", "scratch"]).strip()
    try:
        run(["buildah", "add", "--quiet", container, str(rootfs), "/"], timeout=600)
        run(
            [
                "buildah",
                "config",
                "--env",
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "--env",
                "LANG=C.UTF-8",
                "--label",
                f"{KEY_LABEL}={key}",
                "--label",
                "io.mlpy.stand-in=debian " + BASE_SUITE + " from mmdebstrap",
                "--cmd",
                "python3",
                container,
            ]
        )
        run(["buildah", "commit", "--quiet", container, names[0]], timeout=600)
        for name in names[1:]:
            run(["buildah", "tag", names[0], name])
    finally:
        run(["buildah", "rm", container], check=False)


def _logged(argv: list[str], log: Path, timeout: float) -> None:
    import subprocess

    with open(log, "ab") as out:
        out.write(f"$ {' '.join(argv)}\n".encode())
        out.flush()
        done = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, timeout=timeout, check=False)
    if done.returncode != 0:
        lines = log.read_text(errors="replace").splitlines()[-30:]
        raise ImageBuildError(
            f"`{' '.join(argv[:3])} ...` failed ({done.returncode}); log {log}:\n" + "\n".join(lines)
        )


def _pip_config(directory: Path) -> tuple[Path, Path]:
    """The host's pip settings for the build: its CA bundle (an intercepting proxy) and its index."""
    ca = Path(
        os.environ.get("PIP_CERT") or os.environ.get("SSL_CERT_FILE") or "/etc/ssl/certs/ca-certificates.crt"
    )
    lines = ["[global]", "cert = /etc/mlpy-build/ca.crt"]
    for env, option in (("PIP_INDEX_URL", "index-url"), ("PIP_EXTRA_INDEX_URL", "extra-index-url")):
        if os.environ.get(env):
            lines.append(f"{option} = {os.environ[env]}")
    conf = directory / "pip.conf"
    conf.write_text("\n".join(lines) + "\n")
    return conf, ca


def _save(ref: str, key: str) -> Image:
    stem = re.sub(r"[^A-Za-z0-9]+", "-", ref)
    archive = images_dir() / f"{stem}-{key}.tar"
    for older in images_dir().glob(f"{stem}-*.tar"):
        if older != archive:
            older.unlink()  # an earlier build of the same image: only the current one is kept
    if not archive.is_file():
        partial = archive.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        run(["buildah", "push", "--quiet", ref, f"docker-archive:{partial}:{ref}"], timeout=900)
        partial.rename(archive)
    return Image(ref, archive, key, archive.stat().st_size)


def build_pause(key: str, log: Path) -> Image:
    go = which("go") or "/usr/local/go/bin/go"
    with tempfile.TemporaryDirectory() as tmp:
        binary = Path(tmp) / "pause"
        env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local"}
        import subprocess

        done = subprocess.run(
            [go, "build", "-trimpath", "-ldflags=-s -w", "-o", str(binary), "."],
            cwd=PAUSE_SOURCE,
            env=env,
            check=False,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            raise ImageBuildError(f"`go build` of the pause image failed: {done.stderr.strip()}")
        container = run(["buildah", "from", "scratch"]).strip()
        try:
            run(["buildah", "copy", "--quiet", container, str(binary), "/pause"])
            run(
                [
                    "buildah",
                    "config",
                    "--entrypoint",
                    '["/pause"]',
                    "--user",
                    "65535:65535",
                    "--label",
                    f"{KEY_LABEL}={key}",
                    container,
                ]
            )
            run(["buildah", "commit", "--quiet", container, PAUSE_IMAGE])
        finally:
            run(["buildah", "rm", container], check=False)
    return _save(PAUSE_IMAGE, key)


def bud(
    ref: str, dockerfile: Path, context: Path, log: Path, build_args: dict[str, str] | None = None
) -> None:
    """``buildah bud`` of one Dockerfile as written: nothing pulled from a registry (every ``FROM`` is
    in buildah's storage), pip reaching its index with the host's settings."""
    # A stable path: buildah's layer cache keys a RUN step on its mounts too, so a new temporary
    # folder each time would rebuild the dependency layer every time.
    conf, ca = _pip_config(images_dir())
    argv = [
        "buildah",
        "bud",
        "--pull=never",
        "--network",
        "host",
        "--layers",
        "--format",
        "docker",
        "--runtime",
        which("runc") or "runc",
        "-v",
        f"{ca}:/etc/mlpy-build/ca.crt:ro",
        "-v",
        f"{conf}:/etc/pip.conf:ro",
        "-f",
        str(dockerfile),
        "-t",
        ref,
    ]
    for name, value in (build_args or {}).items():
        argv += ["--build-arg", f"{name}={value}"]
    _logged([*argv, str(context)], log, timeout=1800)


def build_images(log: Path | None = None, echo: bool = True) -> dict[str, Image]:
    """Build what is stale, reuse the rest; the current image of every reference."""
    images_dir().mkdir(parents=True, exist_ok=True)
    log = log or images_dir() / "build.log"
    index = read_index()
    stale = set(stale_images())
    keys = wanted()
    say = print if echo else (lambda *_a: None)
    if PAUSE_IMAGE in stale:
        say(f"images: building {PAUSE_IMAGE}")
        index[PAUSE_IMAGE] = build_pause(keys[PAUSE_IMAGE], log)
    products = product_images()
    if stale & set(products):
        ensure_base(base_names(products.values()), log)
    for ref, dockerfile in products.items():
        if ref not in stale:
            continue
        say(f"images: building {ref} from {dockerfile.name}")
        started = log.stat().st_size if log.exists() else 0
        bud(ref, dockerfile, REPO, log)
        _remember_layers(ref, log, started)
        index[ref] = _save(ref, keys[ref])
        _write_index(index)
    _write_index(index)
    if stale & set(products):
        _prune_unused(say)
    for image in current_images().values():
        say(f"images: {image.ref} {image.bytes / 1e6:.0f} MB ({image.archive.name})")
    return current_images()


#: Each Dockerfile's layers in its newest build (the ``-->`` lines of buildah's output): its cache.
LAYERS_FILE = "layers.json"
_LAYER_LINE = re.compile(r"^--> (?:Using cache )?([0-9a-f]{11,64})\s*$", re.M)


def _remember_layers(ref: str, log: Path, since: int) -> None:
    with open(log, "rb") as handle:
        handle.seek(since)
        output = handle.read().decode(errors="replace")
    path = images_dir() / LAYERS_FILE
    try:
        layers = json.loads(path.read_text())
    except (OSError, ValueError):
        layers = {}
    layers[ref] = sorted({match[:11] for match in _LAYER_LINE.findall(output)})
    path.write_text(json.dumps(layers, indent=1))


def _prune_unused(say: Callable[..., None]) -> None:
    """Remove the untagged images no current build uses: each rebuild leaves ~1.6 GB of them per
    Dockerfile (the previous final image and builder steps), and a disk fills in a day of work. The
    layers of every Dockerfile's newest build stay, so the next build still finds its cache."""
    try:
        kept = {
            layer for ids in json.loads((images_dir() / LAYERS_FILE).read_text()).values() for layer in ids
        }
        images = json.loads(run(["buildah", "images", "--json"]) or "[]")
    except (OSError, ValueError, ClusterError):
        return
    unused = [i["id"] for i in images if not i.get("names") and str(i["id"])[:11] not in kept]
    for image in unused:
        run(["buildah", "rmi", image], check=False)
    if unused:
        say(f"images: removed {len(unused)} untagged images no build uses any more")
