"""The images built from the Dockerfiles: their sizes, printed, and a bound on the server's growth."""

from __future__ import annotations

import pytest

import localk8s
from tests.e2e.conftest import summary_line, unavailable

pytestmark = pytest.mark.e2e

#: The server image's size (the saved archive: its layers, uncompressed) when it was first built
#: and run here. It may grow by half before this test asks why.
SERVER_IMAGE_MB_AT_LANDING = 824


def test_image_sizes(request: pytest.FixtureRequest) -> None:
    stale = localk8s.stale_images()
    if stale:
        unavailable(
            f"images not built from these sources: {', '.join(stale)} (bash scripts/k8s/cluster.sh images)"
        )
    built = localk8s.current_images()
    server_ref = next(iter(localk8s.product_images()))
    server_mb = built[server_ref].bytes / 1e6
    bound = f"the server's bound: {1.5 * SERVER_IMAGE_MB_AT_LANDING:.0f} MB"
    sizes = ", ".join(f"{image.ref} {image.bytes / 1e6:.0f} MB" for image in built.values())
    summary_line(request.config, f"mlpy e2e: image sizes: {sizes} ({bound})")
    assert server_mb <= 1.5 * SERVER_IMAGE_MB_AT_LANDING, (
        f"{server_ref} is {server_mb:.0f} MB, more than 1.5x the {SERVER_IMAGE_MB_AT_LANDING} MB it had"
    )
