"""Local HTTP server that imitates the OVHcloud API routes used for Managed Kubernetes node pools.

Development and test tool only: the operator never imports this package at run time.
"""

from ovh_api_simulator.app import create_app
from ovh_api_simulator.settings import Settings

__all__ = ["Settings", "create_app"]
