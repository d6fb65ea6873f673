"""The HTTP session Kopf uses to talk to the API server, with a bounded connection pool."""

from __future__ import annotations

import aiohttp
import kopf

# Kopf's own session opens as many connections as there are requests in flight. Creating 1000
# objects at once then opens hundreds of TLS connections, each with a 256 KiB read buffer, so a
# bounded pool queues those requests instead. Each watch stream keeps one connection while it
# runs, so the pool must stay well above the number of watches.
API_SERVER_CONNECTIONS = 16


def pooled_session(
    info: kopf.ConnectionInfo, *, connections: int = API_SERVER_CONNECTIONS
) -> kopf.AiohttpSession:
    """Return a Kopf session with the credentials of `info` and at most `connections` open.

    Call it in the event loop that will use the session.
    """
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=connections, ssl=info.as_ssl_context()),
        headers=info.as_http_headers(),
        proxy=info.proxy_url,
        trust_env=info.trust_env,
    )
    return kopf.AiohttpSession(
        aiohttp_session=session,
        server=info.server,
        default_namespace=info.default_namespace,
        priority=info.priority,
        expiration=info.expiration,
    )
