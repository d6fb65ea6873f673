"""Tests of the OVHNodePool status and its kstatus conditions."""

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from ovh_nodepool_operator.domain.models import NodePoolSpec, OvhPool
from ovh_nodepool_operator.domain.status import (
    State,
    Verdict,
    build_conditions,
    build_status,
    timestamp,
)

EARLIER = datetime(2025, 3, 1, 8, 0, 0, tzinfo=UTC)
NOW = EARLIER + timedelta(minutes=5)
EARLIER_TEXT = "2025-03-01T08:00:00Z"
NOW_TEXT = "2025-03-01T08:05:00Z"

READY = Verdict(state="Ready", reason="Ready", message="The pool matches the spec.")
RECONCILING = Verdict(state="Reconciling", reason="Scaling", message="OVH is adding nodes.")
STALLED = Verdict(
    state="Stalled", reason="InvalidCredentials", message="OVH rejected the credentials."
)

SPEC = NodePoolSpec(project_id="project-1", kube_id="kube-1", flavor_name="b3-8")


def make_pool(**fields: Any) -> OvhPool:
    values: dict[str, Any] = {
        "id": "pool-1",
        "name": "workers",
        "flavor": "b3-8",
        "status": "READY",
        "size_status": "CAPACITY_OK",
        "desired_nodes": 3,
        "min_nodes": 1,
        "max_nodes": 10,
        "current_nodes": 3,
        "available_nodes": 2,
        "up_to_date_nodes": 1,
    }
    values.update(fields)
    return OvhPool(**values)


def by_type(conditions: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {condition["type"]: condition for condition in conditions}


@pytest.mark.parametrize(
    ("verdict", "true_type"),
    [(READY, "Ready"), (RECONCILING, "Reconciling"), (STALLED, "Stalled")],
)
def test_verdict_sets_one_condition_true(verdict: Verdict, true_type: State) -> None:
    conditions = by_type(build_conditions(verdict, generation=1, previous=[], now=NOW))

    assert set(conditions) == {"Ready", "Reconciling", "Stalled"}
    for kind, condition in conditions.items():
        expected = "True" if kind == true_type else "False"
        assert condition["status"] == expected, kind


def test_conditions_carry_verdict_reason() -> None:
    conditions = by_type(build_conditions(STALLED, generation=1, previous=[], now=NOW))

    assert conditions["Stalled"]["reason"] == "InvalidCredentials"
    assert conditions["Stalled"]["message"] == "OVH rejected the credentials."


def test_new_conditions_use_now() -> None:
    conditions = build_conditions(READY, generation=1, previous=[], now=NOW)

    for condition in conditions:
        assert condition["lastTransitionTime"] == NOW_TEXT, condition["type"]


def test_unchanged_status_keeps_transition_time() -> None:
    previous = build_conditions(READY, generation=1, previous=[], now=EARLIER)

    conditions = by_type(build_conditions(READY, generation=2, previous=previous, now=NOW))

    assert conditions["Ready"]["lastTransitionTime"] == EARLIER_TEXT
    assert conditions["Stalled"]["lastTransitionTime"] == EARLIER_TEXT


def test_changed_status_updates_transition_time() -> None:
    previous = build_conditions(READY, generation=1, previous=[], now=EARLIER)

    conditions = by_type(build_conditions(RECONCILING, generation=1, previous=previous, now=NOW))

    assert conditions["Ready"]["lastTransitionTime"] == NOW_TEXT
    assert conditions["Reconciling"]["lastTransitionTime"] == NOW_TEXT
    assert conditions["Stalled"]["lastTransitionTime"] == EARLIER_TEXT


def test_new_reason_keeps_transition_time() -> None:
    previous = build_conditions(RECONCILING, generation=1, previous=[], now=EARLIER)
    other = Verdict(state="Reconciling", reason="Creating", message="OVH is installing.")

    conditions = by_type(build_conditions(other, generation=1, previous=previous, now=NOW))

    assert conditions["Reconciling"]["reason"] == "Creating"
    assert conditions["Reconciling"]["lastTransitionTime"] == EARLIER_TEXT


def test_conditions_carry_observed_generation() -> None:
    conditions = build_conditions(READY, generation=7, previous=[], now=NOW)

    for condition in conditions:
        assert condition["observedGeneration"] == 7, condition["type"]


def test_timestamp_converts_to_utc() -> None:
    plus_one = timezone(timedelta(hours=1))

    assert timestamp(datetime(2025, 3, 1, 9, 0, 0, 123, tzinfo=plus_one)) == EARLIER_TEXT


def test_no_paused_condition_by_default() -> None:
    conditions = by_type(build_conditions(READY, generation=1, previous=[], now=NOW))

    assert "Paused" not in conditions


def test_paused_condition_true_when_paused() -> None:
    conditions = by_type(build_conditions(READY, generation=1, previous=[], now=NOW, paused=True))

    assert conditions["Paused"]["status"] == "True"
    assert conditions["Paused"]["reason"] == "Paused"
    assert conditions["Paused"]["observedGeneration"] == 1


def test_paused_condition_false_when_resumed() -> None:
    previous = build_conditions(READY, generation=1, previous=[], now=EARLIER, paused=True)

    conditions = by_type(
        build_conditions(READY, generation=1, previous=previous, now=NOW, paused=False)
    )

    assert conditions["Paused"]["status"] == "False"
    assert conditions["Paused"]["reason"] == "NotPaused"
    assert conditions["Paused"]["lastTransitionTime"] == NOW_TEXT


def test_status_mirrors_live_pool() -> None:
    status = build_status(SPEC, make_pool(), READY, generation=3, previous={}, now=NOW)

    assert status["nodePoolId"] == "pool-1"
    assert status["ovhStatus"] == "READY"
    assert status["sizeStatus"] == "CAPACITY_OK"
    assert status["desiredNodes"] == 3
    assert status["currentNodes"] == 3
    assert status["availableNodes"] == 2
    assert status["upToDateNodes"] == 1
    assert status["minNodes"] == 1
    assert status["maxNodes"] == 10
    assert status["flavorName"] == "b3-8"


def test_status_sets_observed_generation() -> None:
    status = build_status(SPEC, make_pool(), READY, generation=4, previous={}, now=NOW)

    assert status["observedGeneration"] == 4
    for condition in status["conditions"]:
        assert condition["observedGeneration"] == 4, condition["type"]


def test_owner_is_autoscaler_when_autoscaling() -> None:
    status = build_status(
        SPEC, make_pool(autoscale=True), READY, generation=1, previous={}, now=NOW
    )

    assert status["desiredNodesOwner"] == "Autoscaler"


def test_owner_is_operator_without_autoscaler() -> None:
    status = build_status(
        SPEC, make_pool(autoscale=False), READY, generation=1, previous={}, now=NOW
    )

    assert status["desiredNodesOwner"] == "Operator"


def test_missing_pool_keeps_previous_id() -> None:
    previous = {"nodePoolId": "pool-1", "ovhStatus": "READY"}

    status = build_status(SPEC, None, RECONCILING, generation=2, previous=previous, now=NOW)

    assert status["nodePoolId"] == "pool-1"
    assert status["ovhStatus"] is None
    assert status["desiredNodesOwner"] is None


def test_missing_pool_without_history() -> None:
    status = build_status(SPEC, None, RECONCILING, generation=1, previous={}, now=NOW)

    assert status["nodePoolId"] is None
    assert status["currentNodes"] is None


def test_status_keeps_previous_transition_times() -> None:
    first = build_status(SPEC, make_pool(), READY, generation=1, previous={}, now=EARLIER)

    second = build_status(SPEC, make_pool(), READY, generation=1, previous=first, now=NOW)

    assert by_type(second["conditions"])["Ready"]["lastTransitionTime"] == EARLIER_TEXT


def test_status_passes_paused_flag() -> None:
    status = build_status(SPEC, make_pool(), READY, generation=1, previous={}, now=NOW, paused=True)

    assert by_type(status["conditions"])["Paused"]["status"] == "True"
