"""Report a planned wait as INFO, although Kopf logs every temporary handler failure as ERROR."""

from __future__ import annotations

import logging

# Kopf logs a temporary handler error as "Handler ... failed temporarily: MESSAGE", and the
# deletion handler's planned retries have messages that start with "Waiting for ".
FAILURE_PREFIX = "failed temporarily: "
WAIT_MARKER = FAILURE_PREFIX + "Waiting for "


class PlannedWaitFilter(logging.Filter):
    """Turn Kopf's "Handler ... failed temporarily: Waiting for ..." into an INFO wait line.

    Kopf words every retry as a failure. For a planned wait, only the part from "Waiting for"
    on is kept, so that the line does not read like an error.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the level and the message of a planned wait; let every record through."""
        if record.levelno != logging.ERROR:
            return True
        message = record.getMessage()
        position = message.find(WAIT_MARKER)
        if position < 0:
            return True

        record.levelno = logging.INFO
        record.levelname = logging.getLevelName(logging.INFO)
        record.msg = message[position + len(FAILURE_PREFIX) :]
        record.args = ()
        return True


def install_planned_wait_filter() -> None:
    """Attach the filter to Kopf's per-object logger."""
    logging.getLogger("kopf.objects").addFilter(PlannedWaitFilter())
