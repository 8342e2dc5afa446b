"""Reconciliation without kopf: read the resource, apply its children, compute its status."""
