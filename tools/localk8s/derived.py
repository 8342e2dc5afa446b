"""Images built FROM a product image, as a team builds its own: the server image with the team's
training package installed (``tests/fixtures/trainpkg/Dockerfile``), for a training Job on the node.

Built with the same ``buildah bud`` as the product images, cached the same way (an archive keyed by a
hash of the base image's key, the Dockerfile and its context), and imported into the node's containerd
on demand: the node imports only the product images when it starts.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from localk8s.containerd import IMAGES_HINT, Containerd
from localk8s.errors import ImageBuildError
from localk8s.host import run, succeeds
from localk8s.images import Image, _hash_files, _save, _write_index, bud, images_dir, read_index

#: The build argument a derived Dockerfile's ``FROM`` names its base with (``ARG BASE=...``).
BASE_ARG = "BASE"


def derived_key(base: Image, dockerfile: Path, context: Path) -> str:
    digest = hashlib.sha256(base.key.encode())
    digest.update(dockerfile.read_bytes())
    _hash_files(digest, context, sorted(p.name for p in context.iterdir()))
    return digest.hexdigest()[:16]


def build_derived(ref: str, dockerfile: Path, context: Path, base_ref: str, log: Path | None = None) -> Image:
    """The image ``ref`` built from ``dockerfile`` over the built product image ``base_ref``; reused
    while neither changed."""
    index = read_index()
    base = index.get(base_ref)
    if base is None or not base.archive.is_file():
        raise ImageBuildError(f"{base_ref} is not built: run `{IMAGES_HINT}` first")
    key = derived_key(base, dockerfile, context)
    held = index.get(ref)
    if held is not None and held.key == key and held.archive.is_file():
        return held
    log = log or images_dir() / "build.log"
    if not succeeds(["buildah", "inspect", "--type", "image", base_ref]):
        # Built on an earlier day and only its archive kept: buildah takes it back from there.
        run(["buildah", "pull", "--quiet", f"docker-archive:{base.archive}"], timeout=900)
    bud(ref, dockerfile, context, log, build_args={BASE_ARG: base_ref})
    image = _save(ref, key)
    index[ref] = image
    _write_index(index)
    return image


def import_into(containerd: Containerd, image: Image) -> None:
    """Give the running node's containerd the image (once per build)."""
    containerd.import_images({image.ref: (image.archive, image.key)})
