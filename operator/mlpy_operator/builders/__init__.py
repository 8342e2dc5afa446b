"""Pure functions from a custom resource's spec to the child objects it should have."""
