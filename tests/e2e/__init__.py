"""End-to-end tests: a package, so that the cluster (package-scoped fixtures) stops when the last of
them is done, and the rest of the suite runs without the control plane's load."""
