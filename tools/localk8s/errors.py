"""The one exception hierarchy of the local cluster tool; every message says what to do next."""

from __future__ import annotations


class ClusterError(RuntimeError):
    """The local cluster could not be started, reached or stopped."""


class MissingBinariesError(ClusterError):
    """The binaries are not built yet; the message names the build command."""


class NodeUnavailableError(ClusterError):
    """This machine cannot run a real node (not root, a package missing, images not built, ...)."""


class ImageBuildError(ClusterError):
    """An image could not be built or imported; the message carries the builder's output."""
