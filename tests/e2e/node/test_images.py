"""The images built from the Dockerfiles: their sizes, printed, and a bound on the server's growth."""

from __future__ import annotations

import pytest

import localk8s
from tests.e2e.conftest import unavailable

pytestmark = pytest.mark.e2e

#: The server image's size (the saved archive: its layers, uncompressed) when it was first built
#: and run here. It may grow by half before this test asks why.
SERVER_IMAGE_MB_AT_LANDING = 824


def test_image_sizes() -> None:
    stale = localk8s.stale_images()
    if stale:
        unavailable(
            f"images not built from these sources: {', '.join(stale)} (bash scripts/k8s/cluster.sh images)"
        )
    built = localk8s.current_images()
    for image in built.values():
        print(f"{image.ref}: {image.bytes / 1e6:.0f} MB")
    server_ref = next(iter(localk8s.product_images()))
    server_mb = built[server_ref].bytes / 1e6
    assert server_mb <= 1.5 * SERVER_IMAGE_MB_AT_LANDING, (
        f"{server_ref} is {server_mb:.0f} MB, more than 1.5x the {SERVER_IMAGE_MB_AT_LANDING} MB it had"
    )
