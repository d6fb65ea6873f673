"""Kopf handlers of OVHNodePool objects and the orchestration they call."""
