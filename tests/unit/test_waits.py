"""Tests of the log filter that reports the deletion's planned waits as INFO."""

from __future__ import annotations

import logging

from ovh_nodepool_operator.handlers.waits import PlannedWaitFilter


def record(level: int, message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("kopf.objects", level, __file__, 1, message, args, None)


def test_planned_wait_becomes_info_line() -> None:
    item = record(
        logging.ERROR, "Handler %r failed temporarily: %s", "release", "Waiting for OVH to delete."
    )

    assert PlannedWaitFilter().filter(item)

    assert item.levelno == logging.INFO
    assert item.levelname == "INFO"
    assert item.getMessage() == "Waiting for OVH to delete."


def test_other_error_kept() -> None:
    item = record(logging.ERROR, "Handler 'release' failed temporarily: OVH returned 500.")

    assert PlannedWaitFilter().filter(item)

    assert item.levelno == logging.ERROR
    assert item.getMessage() == "Handler 'release' failed temporarily: OVH returned 500."


def test_info_record_untouched() -> None:
    item = record(logging.INFO, "Handler 'release' failed temporarily: Waiting for OVH.")

    assert PlannedWaitFilter().filter(item)

    assert item.getMessage() == "Handler 'release' failed temporarily: Waiting for OVH."
