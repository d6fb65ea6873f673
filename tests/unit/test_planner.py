"""Examples of the requests the planner builds from a spec and a live OVH pool."""

from typing import Any

import pytest

from ovh_nodepool_operator.domain.models import (
    TRANSITIONAL_STATUSES,
    Autoscaling,
    FloatingIps,
    NodePoolSpec,
    NodeTemplate,
    OvhPool,
    Taint,
    TemplateMetadata,
    TemplateSpec,
)
from ovh_nodepool_operator.domain.planner import (
    ImmutableMismatch,
    NoChange,
    UpdatePool,
    WaitForPool,
    immutable_mismatches,
    plan_create,
    plan_update,
    target_desired_nodes,
)

EMPTY_TEMPLATE = {
    "metadata": {"labels": {}, "annotations": {}, "finalizers": []},
    "spec": {"unschedulable": False, "taints": []},
}


def make_spec(**fields: Any) -> NodePoolSpec:
    values: dict[str, Any] = {
        "project_id": "project-1",
        "kube_id": "kube-1",
        "flavor_name": "b3-8",
        "desired_nodes": 3,
        "min_nodes": 1,
        "max_nodes": 10,
    }
    values.update(fields)
    return NodePoolSpec(**values)


def make_pool(**fields: Any) -> OvhPool:
    """Build a READY pool that matches `make_spec()` exactly."""
    values: dict[str, Any] = {
        "id": "pool-1",
        "name": "workers",
        "flavor": "b3-8",
        "status": "READY",
        "desired_nodes": 3,
        "min_nodes": 1,
        "max_nodes": 10,
        "current_nodes": 3,
    }
    values.update(fields)
    return OvhPool(**values)


def update_body(spec: NodePoolSpec, pool: OvhPool) -> dict[str, Any]:
    plan = plan_update(spec, pool)
    assert isinstance(plan, UpdatePool), f"expected an update, got {plan!r}"
    return plan.body


# Creation


def test_create_sends_complete_template_by_default() -> None:
    body = plan_create(make_spec(), "workers").body

    assert body["template"] == EMPTY_TEMPLATE


def test_create_fills_missing_template_fields() -> None:
    template = NodeTemplate(metadata=TemplateMetadata(labels={"role": "gpu"}))

    body = plan_create(make_spec(template=template), "workers").body

    assert body["template"]["metadata"] == {
        "labels": {"role": "gpu"},
        "annotations": {},
        "finalizers": [],
    }
    assert body["template"]["spec"] == {"unschedulable": False, "taints": []}


def test_create_sends_taints_in_ovh_shape() -> None:
    taint = Taint(key="gpu", value="true", effect="NoSchedule")
    template = NodeTemplate(spec=TemplateSpec(unschedulable=True, taints=[taint]))

    body = plan_create(make_spec(template=template), "workers").body

    assert body["template"]["spec"] == {
        "unschedulable": True,
        "taints": [{"key": "gpu", "value": "true", "effect": "NoSchedule"}],
    }


def test_create_body_uses_spec_defaults() -> None:
    spec = NodePoolSpec(project_id="project-1", kube_id="kube-1", flavor_name="b3-8")

    body = plan_create(spec, "workers").body

    assert body["name"] == "workers"
    assert body["flavorName"] == "b3-8"
    assert body["minNodes"] == 0
    assert body["maxNodes"] == 100
    assert body["autoscale"] is False
    assert body["antiAffinity"] is False
    assert body["monthlyBilled"] is False
    assert "autoscaling" not in body
    assert "availabilityZones" not in body
    assert "attachFloatingIps" not in body


def test_create_uses_spec_desired_nodes() -> None:
    body = plan_create(make_spec(desired_nodes=4), "workers").body

    assert body["desiredNodes"] == 4


def test_create_without_desired_uses_min() -> None:
    body = plan_create(make_spec(desired_nodes=None, min_nodes=2), "workers").body

    assert body["desiredNodes"] == 2


def test_create_sends_desired_under_autoscaler() -> None:
    body = plan_create(make_spec(autoscale=True, desired_nodes=5), "workers").body

    assert body["autoscale"] is True
    assert body["desiredNodes"] == 5


def test_create_sends_availability_zones() -> None:
    body = plan_create(make_spec(availability_zones=["eu-west-par-a"]), "workers").body

    assert body["availabilityZones"] == ["eu-west-par-a"]


def test_create_sends_floating_ips() -> None:
    spec = make_spec(attach_floating_ips=FloatingIps(enabled=True))

    body = plan_create(spec, "workers").body

    assert body["attachFloatingIps"] == {"enabled": True}


def test_create_sends_only_set_autoscaling_fields() -> None:
    spec = make_spec(autoscaling=Autoscaling(scale_down_unneeded_time_seconds=600))

    body = plan_create(spec, "workers").body

    assert body["autoscaling"] == {"scaleDownUnneededTimeSeconds": 600}


def test_create_sends_immutable_fields() -> None:
    spec = make_spec(anti_affinity=True, max_nodes=5, monthly_billed=True)

    body = plan_create(spec, "workers").body

    assert body["antiAffinity"] is True
    assert body["monthlyBilled"] is True


# Updates: only what changed


def test_update_matching_pool_is_no_change() -> None:
    assert plan_update(make_spec(), make_pool()) == NoChange()


def test_update_sends_only_changed_field() -> None:
    body = update_body(make_spec(desired_nodes=5), make_pool())

    assert body == {"desiredNodes": 5}


def test_update_sends_changed_bounds_only() -> None:
    body = update_body(make_spec(min_nodes=2, max_nodes=8), make_pool())

    assert body == {"minNodes": 2, "maxNodes": 8}


def test_update_changed_fields_match_body() -> None:
    plan = plan_update(make_spec(desired_nodes=5, max_nodes=12), make_pool())

    assert isinstance(plan, UpdatePool)
    assert set(plan.changed) == {"desiredNodes", "maxNodes"}


def test_update_sends_floating_ip_change() -> None:
    spec = make_spec(attach_floating_ips=FloatingIps(enabled=True))
    pool = make_pool(attach_floating_ips=FloatingIps(enabled=False))

    assert update_body(spec, pool) == {"attachFloatingIps": {"enabled": True}}


def test_update_ignores_unset_floating_ips() -> None:
    pool = make_pool(attach_floating_ips=FloatingIps(enabled=True))

    assert plan_update(make_spec(), pool) == NoChange()


def test_update_without_desired_enforces_min() -> None:
    body = update_body(make_spec(desired_nodes=None, min_nodes=1), make_pool(desired_nodes=3))

    assert body == {"desiredNodes": 1}


# Updates: the template


def test_label_change_sends_whole_template() -> None:
    live = NodeTemplate(
        metadata=TemplateMetadata(labels={"role": "web"}, finalizers=["example.com/keep"]),
        spec=TemplateSpec(taints=[Taint(key="gpu", effect="NoExecute")]),
    )
    declared = NodeTemplate(
        metadata=TemplateMetadata(labels={"role": "api"}, finalizers=["example.com/keep"]),
        spec=TemplateSpec(taints=[Taint(key="gpu", effect="NoExecute")]),
    )

    body = update_body(make_spec(template=declared), make_pool(template=live))

    assert body == {
        "template": {
            "metadata": {
                "labels": {"role": "api"},
                "annotations": {},
                "finalizers": ["example.com/keep"],
            },
            "spec": {
                "unschedulable": False,
                "taints": [{"key": "gpu", "value": "", "effect": "NoExecute"}],
            },
        }
    }


def test_unschedulable_sends_whole_template() -> None:
    live = NodeTemplate(metadata=TemplateMetadata(labels={"role": "web"}))
    declared = NodeTemplate(
        metadata=TemplateMetadata(labels={"role": "web"}),
        spec=TemplateSpec(unschedulable=True),
    )

    body = update_body(make_spec(template=declared), make_pool(template=live))

    assert body["template"]["metadata"]["labels"] == {"role": "web"}
    assert body["template"]["metadata"]["annotations"] == {}
    assert body["template"]["metadata"]["finalizers"] == []
    assert body["template"]["spec"] == {"unschedulable": True, "taints": []}


def test_update_matching_template_is_no_change() -> None:
    template = NodeTemplate(metadata=TemplateMetadata(annotations={"team": "a"}))

    assert plan_update(make_spec(template=template), make_pool(template=template)) == NoChange()


def test_update_unset_template_sends_nothing() -> None:
    live = NodeTemplate(metadata=TemplateMetadata(labels={"set-by": "console"}))

    assert plan_update(make_spec(template=None), make_pool(template=live)) == NoChange()


def test_update_empty_template_clears_live_labels() -> None:
    live = NodeTemplate(metadata=TemplateMetadata(labels={"set-by": "console"}))

    body = update_body(make_spec(template=NodeTemplate()), make_pool(template=live))

    assert body == {"template": EMPTY_TEMPLATE}


# Busy pools and immutable fields


@pytest.mark.parametrize("status", sorted(TRANSITIONAL_STATUSES))
def test_busy_pool_waits(status: str) -> None:
    plan = plan_update(make_spec(desired_nodes=5), make_pool(status=status))

    assert plan == WaitForPool(status=status)


def test_flavor_difference_is_mismatch() -> None:
    plan = plan_update(make_spec(flavor_name="b3-16", desired_nodes=5), make_pool())

    assert plan == ImmutableMismatch(fields=("flavorName",))


def test_every_immutable_difference_is_named() -> None:
    spec = make_spec(
        flavor_name="b3-16",
        anti_affinity=True,
        max_nodes=5,
        monthly_billed=True,
        availability_zones=["eu-west-par-b"],
    )
    pool = make_pool(availability_zones=["eu-west-par-a"])

    plan = plan_update(spec, pool)

    assert isinstance(plan, ImmutableMismatch)
    assert set(plan.fields) == {"flavorName", "antiAffinity", "monthlyBilled", "availabilityZones"}


def test_mismatch_on_busy_pool_still_reported() -> None:
    plan = plan_update(make_spec(monthly_billed=True), make_pool(status="UPSCALING"))

    assert plan == ImmutableMismatch(fields=("monthlyBilled",))


def test_unset_zones_accept_live_zone() -> None:
    pool = make_pool(availability_zones=["eu-west-par-c"])

    assert immutable_mismatches(make_spec(availability_zones=None), pool) == ()


# Bounds and size together


def test_lower_max_carries_desired_without_autoscaler() -> None:
    spec = make_spec(desired_nodes=4, max_nodes=4)
    pool = make_pool(desired_nodes=8, current_nodes=8)

    body = update_body(spec, pool)

    assert body == {"maxNodes": 4, "desiredNodes": 4}


def test_lower_max_clamps_live_desired() -> None:
    spec = make_spec(autoscale=True, desired_nodes=2, max_nodes=6)
    pool = make_pool(autoscale=True, desired_nodes=9, current_nodes=9)

    body = update_body(spec, pool)

    assert body == {"maxNodes": 6, "desiredNodes": 6}


def test_raise_min_clamps_live_desired() -> None:
    spec = make_spec(autoscale=True, min_nodes=4, desired_nodes=None)
    pool = make_pool(autoscale=True, desired_nodes=2, current_nodes=2)

    body = update_body(spec, pool)

    assert body == {"minNodes": 4, "desiredNodes": 4}


def test_autoscaler_keeps_desired_with_same_bounds() -> None:
    spec = make_spec(autoscale=True, desired_nodes=3)
    pool = make_pool(autoscale=True, desired_nodes=7, current_nodes=7)

    assert plan_update(spec, pool) == NoChange()


def test_autoscaler_keeps_desired_on_other_change() -> None:
    spec = make_spec(autoscale=True, desired_nodes=3, template=NodeTemplate())
    live = NodeTemplate(metadata=TemplateMetadata(labels={"old": "yes"}))
    pool = make_pool(autoscale=True, desired_nodes=7, template=live)

    body = update_body(spec, pool)

    assert "desiredNodes" not in body


def test_target_under_autoscaler_is_live_count() -> None:
    spec = make_spec(autoscale=True, desired_nodes=2)

    assert target_desired_nodes(spec, make_pool(autoscale=True, desired_nodes=6)) == 6


def test_switch_autoscale_on_keeps_live_desired() -> None:
    spec = make_spec(autoscale=True, desired_nodes=3)
    pool = make_pool(autoscale=False, desired_nodes=5)

    body = update_body(spec, pool)

    assert body == {"autoscale": True}


def test_switch_autoscale_off_restores_spec_desired() -> None:
    spec = make_spec(autoscale=False, desired_nodes=3)
    pool = make_pool(autoscale=True, desired_nodes=8, current_nodes=8)

    body = update_body(spec, pool)

    assert body == {"autoscale": False, "desiredNodes": 3}


# Autoscaler tuning


def test_autoscaling_partial_spec_merges_live() -> None:
    live = Autoscaling(
        scale_down_utilization_threshold=0.5,
        scale_down_unneeded_time_seconds=600,
        scale_down_unready_time_seconds=1200,
    )
    declared = Autoscaling(scale_down_unneeded_time_seconds=300)

    body = update_body(make_spec(autoscaling=declared), make_pool(autoscaling=live))

    assert body == {
        "autoscaling": {
            "scaleDownUtilizationThreshold": 0.5,
            "scaleDownUnneededTimeSeconds": 300,
            "scaleDownUnreadyTimeSeconds": 1200,
        }
    }


def test_autoscaling_matching_subset_is_no_change() -> None:
    live = Autoscaling(scale_down_utilization_threshold=0.5, scale_down_unneeded_time_seconds=600)
    declared = Autoscaling(scale_down_utilization_threshold=0.5)

    assert plan_update(make_spec(autoscaling=declared), make_pool(autoscaling=live)) == NoChange()


def test_autoscaling_without_live_values() -> None:
    declared = Autoscaling(scale_down_utilization_threshold=0.7)

    body = update_body(make_spec(autoscaling=declared), make_pool(autoscaling=None))

    assert body == {"autoscaling": {"scaleDownUtilizationThreshold": 0.7}}


def test_autoscaling_unset_sends_nothing() -> None:
    live = Autoscaling(scale_down_utilization_threshold=0.2)

    assert plan_update(make_spec(autoscaling=None), make_pool(autoscaling=live)) == NoChange()
