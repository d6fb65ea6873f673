"""Report a planned wait as INFO, although Kopf logs every temporary handler failure as ERROR."""

from __future__ import annotations

import logging

# The deletion handler's planned retries raise Kopf errors whose messages start this way.
WAIT_MARKER = "failed temporarily: Waiting for "


class PlannedWaitFilter(logging.Filter):
    """Lower Kopf's "failed temporarily: Waiting for ..." records from ERROR to INFO."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the level of a planned wait; let every record through."""
        if record.levelno == logging.ERROR and WAIT_MARKER in record.getMessage():
            record.levelno = logging.INFO
            record.levelname = logging.getLevelName(logging.INFO)
        return True


def install_planned_wait_filter() -> None:
    """Attach the filter to Kopf's per-object logger."""
    logging.getLogger("kopf.objects").addFilter(PlannedWaitFilter())
