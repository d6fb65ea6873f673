"""Kubernetes operator that manages OVHcloud Managed Kubernetes node pools."""

__version__ = "0.1.0"
