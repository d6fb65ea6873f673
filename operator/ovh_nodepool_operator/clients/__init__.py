"""Adapters to the OVH API and the Kubernetes API.

These modules are the only importers of `ovh` and `kubernetes`, and the only place where their
exceptions are translated into the operator's error taxonomy.
"""
