"""Local Kubernetes control plane (etcd + kube-apiserver v1.36.3) for tests, demo, benchmarks."""

from kube_control_plane.binaries import K8S_VERSION, Binaries, BuildError, ensure_binaries
from kube_control_plane.controlplane import ControlPlane, ControlPlaneError, KubectlError

__all__ = [
    "K8S_VERSION",
    "Binaries",
    "BuildError",
    "ControlPlane",
    "ControlPlaneError",
    "KubectlError",
    "ensure_binaries",
]
