"""The mlpy Kubernetes operator: ModelVersion, Experiment and DriftMonitor reconciled by kopf."""
