"""Pure decisions: from the declared spec and the observed OVH pool to the next step.

Nothing in this package does I/O or imports a client library, so it is tested without servers.
"""
