"""Keep client libraries from logging secrets, whatever level the operator logs at."""

from __future__ import annotations

import logging

# At DEBUG, requests-oauthlib logs token request bodies (with the client secret) and the tokens
# it obtains (requests-oauthlib 2.0 oauth2_session.py), and urllib3 logs every request line.
SECRET_BEARING_LOGGERS = ("requests_oauthlib", "oauthlib", "urllib3", "kubernetes", "ovh")


def silence_secret_bearing_loggers() -> None:
    """Raise the client libraries' loggers to WARNING, also under `--debug`."""
    for name in SECRET_BEARING_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
