"""Properties of the planner over generated specs and live pools.

Specs follow the CRD rules (minNodes <= desiredNodes <= maxNodes <= 100, maxNodes <= 5 with
anti-affinity, at most one zone). Live pools follow OVH's own rules and may be in any OVH status.
Immutable fields are drawn from small sets so that many generated pairs match and reach the
update logic.
"""

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ovh_nodepool_operator.domain.models import (
    TRANSITIONAL_STATUSES,
    USER_ERROR_STATUSES,
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
    complete_template,
    plan_create,
    plan_update,
)

OVH_STATUSES = sorted(TRANSITIONAL_STATUSES | USER_ERROR_STATUSES | {"READY"})
IMMUTABLE_KEYS = {"name", "flavorName", "antiAffinity", "monthlyBilled", "availabilityZones"}
FLAVORS = ["b3-8", "b3-16"]
ZONES = ["eu-west-par-a", "eu-west-par-b"]

MAX_EXAMPLES = 300

labels = st.dictionaries(
    st.sampled_from(["role", "team", "zone"]), st.sampled_from(["a", "b"]), max_size=2
)
taints = st.lists(
    st.builds(
        Taint,
        key=st.sampled_from(["gpu", "spot"]),
        value=st.sampled_from(["", "true"]),
        effect=st.sampled_from(["NoSchedule", "PreferNoSchedule", "NoExecute"]),
    ),
    max_size=2,
)
templates = st.builds(
    NodeTemplate,
    metadata=st.builds(
        TemplateMetadata,
        labels=labels,
        annotations=labels,
        finalizers=st.lists(st.sampled_from(["example.com/a", "example.com/b"]), max_size=2),
    ),
    spec=st.builds(TemplateSpec, unschedulable=st.booleans(), taints=taints),
)
autoscalings = st.builds(
    Autoscaling,
    scale_down_utilization_threshold=st.none() | st.sampled_from([0.0, 0.5, 0.65, 1.0]),
    scale_down_unneeded_time_seconds=st.none() | st.sampled_from([0, 300, 600]),
    scale_down_unready_time_seconds=st.none() | st.sampled_from([0, 1200]),
)
floating_ips = st.builds(FloatingIps, enabled=st.booleans())


@st.composite
def sizes(draw: st.DrawFn, *, anti_affinity: bool) -> tuple[int, int, int]:
    """Draw (min, desired, max) with 0 <= min <= desired <= max <= limit."""
    limit = 5 if anti_affinity else 100
    max_nodes = draw(st.integers(0, limit))
    min_nodes = draw(st.integers(0, max_nodes))
    desired = draw(st.integers(min_nodes, max_nodes))
    return min_nodes, desired, max_nodes


@st.composite
def specs(draw: st.DrawFn) -> NodePoolSpec:
    anti_affinity = draw(st.booleans())
    min_nodes, desired, max_nodes = draw(sizes(anti_affinity=anti_affinity))
    return NodePoolSpec(
        project_id="project-1",
        kube_id="kube-1",
        name=draw(st.none() | st.just("workers")),
        flavor_name=draw(st.sampled_from(FLAVORS)),
        desired_nodes=draw(st.none() | st.just(desired)),
        min_nodes=min_nodes,
        max_nodes=max_nodes,
        autoscale=draw(st.booleans()),
        autoscaling=draw(st.none() | autoscalings),
        anti_affinity=anti_affinity,
        monthly_billed=draw(st.booleans()),
        availability_zones=draw(st.none() | st.lists(st.sampled_from(ZONES), max_size=1)),
        attach_floating_ips=draw(st.none() | floating_ips),
        template=draw(st.none() | templates),
    )


@st.composite
def pools(draw: st.DrawFn, *, statuses: list[str] = OVH_STATUSES) -> OvhPool:
    anti_affinity = draw(st.booleans())
    min_nodes, desired, max_nodes = draw(sizes(anti_affinity=anti_affinity))
    return OvhPool(
        id="pool-1",
        name="workers",
        flavor=draw(st.sampled_from(FLAVORS)),
        status=draw(st.sampled_from(statuses)),
        autoscale=draw(st.booleans()),
        autoscaling=draw(st.none() | autoscalings),
        anti_affinity=anti_affinity,
        monthly_billed=draw(st.booleans()),
        desired_nodes=desired,
        min_nodes=min_nodes,
        max_nodes=max_nodes,
        current_nodes=draw(st.integers(0, 100)),
        template=draw(st.none() | templates),
        availability_zones=draw(st.none() | st.lists(st.sampled_from(ZONES), max_size=1)),
        attach_floating_ips=draw(st.none() | floating_ips),
    )


@st.composite
def matching_pairs(
    draw: st.DrawFn, *, statuses: list[str] = OVH_STATUSES
) -> tuple[NodePoolSpec, OvhPool]:
    """Draw a spec and a live pool that agree on every immutable field."""
    spec = draw(specs())
    pool = draw(pools(statuses=statuses))
    zones = spec.availability_zones or draw(
        st.none() | st.lists(st.sampled_from(ZONES), min_size=1, max_size=1)
    )
    if spec.anti_affinity and pool.max_nodes > 5:
        min_nodes, desired, max_nodes = draw(sizes(anti_affinity=True))
        pool = pool.model_copy(
            update={"min_nodes": min_nodes, "desired_nodes": desired, "max_nodes": max_nodes}
        )
    pool = pool.model_copy(
        update={
            "flavor": spec.flavor_name,
            "anti_affinity": spec.anti_affinity,
            "monthly_billed": spec.monthly_billed,
            "availability_zones": zones,
        }
    )
    return spec, pool


def apply_body(pool: OvhPool, body: dict[str, Any]) -> OvhPool:
    """Return the pool as OVH would hold it once the update body is applied."""
    return OvhPool.model_validate({**pool.model_dump(by_alias=True), **body})


def live_value(pool: OvhPool, key: str) -> Any:
    """Return the live value of a body field, in the shape the body uses."""
    if key == "template":
        return complete_template(pool.template)
    if key == "autoscaling":
        live = pool.autoscaling or Autoscaling()
        return live.model_dump(by_alias=True, exclude_none=True)
    if key == "attachFloatingIps":
        return pool.attach_floating_ips.model_dump() if pool.attach_floating_ips else None
    return pool.model_dump(by_alias=True)[key]


def assert_template_complete(template: dict[str, Any]) -> None:
    assert set(template) == {"metadata", "spec"}
    assert set(template["metadata"]) == {"labels", "annotations", "finalizers"}
    assert set(template["spec"]) == {"unschedulable", "taints"}


@settings(max_examples=MAX_EXAMPLES)
@given(specs())
def test_create_desired_within_bounds(spec: NodePoolSpec) -> None:
    body = plan_create(spec, "workers").body

    assert spec.min_nodes <= body["desiredNodes"] <= spec.max_nodes


@settings(max_examples=MAX_EXAMPLES)
@given(specs())
def test_create_template_always_complete(spec: NodePoolSpec) -> None:
    body = plan_create(spec, "workers").body

    assert_template_complete(body["template"])


@settings(max_examples=MAX_EXAMPLES)
@given(matching_pairs())
def test_update_desired_within_bounds(pair: tuple[NodePoolSpec, OvhPool]) -> None:
    spec, pool = pair

    plan = plan_update(spec, pool)

    if isinstance(plan, UpdatePool) and "desiredNodes" in plan.body:
        assert spec.min_nodes <= plan.body["desiredNodes"] <= spec.max_nodes


@settings(max_examples=MAX_EXAMPLES)
@given(matching_pairs())
def test_autoscaler_desired_never_reverted(pair: tuple[NodePoolSpec, OvhPool]) -> None:
    spec, pool = pair
    spec = spec.model_copy(update={"autoscale": True})
    pool = pool.model_copy(update={"min_nodes": spec.min_nodes, "max_nodes": spec.max_nodes})
    pool = pool.model_copy(
        update={"desired_nodes": min(max(pool.desired_nodes, spec.min_nodes), spec.max_nodes)}
    )

    plan = plan_update(spec, pool)

    if isinstance(plan, UpdatePool):
        assert "desiredNodes" not in plan.body


@settings(max_examples=MAX_EXAMPLES)
@given(st.one_of(matching_pairs(), st.tuples(specs(), pools())))
def test_update_never_sends_immutable_fields(pair: tuple[NodePoolSpec, OvhPool]) -> None:
    spec, pool = pair

    plan = plan_update(spec, pool)

    if isinstance(plan, UpdatePool):
        assert not IMMUTABLE_KEYS & set(plan.body)


@settings(max_examples=MAX_EXAMPLES)
@given(matching_pairs())
def test_update_sends_only_differing_fields(pair: tuple[NodePoolSpec, OvhPool]) -> None:
    spec, pool = pair

    plan = plan_update(spec, pool)

    if isinstance(plan, UpdatePool):
        for key, value in plan.body.items():
            assert value != live_value(pool, key), f"{key} is sent unchanged"


@settings(max_examples=MAX_EXAMPLES)
@given(matching_pairs())
def test_update_template_always_complete(pair: tuple[NodePoolSpec, OvhPool]) -> None:
    spec, pool = pair

    plan = plan_update(spec, pool)

    if isinstance(plan, UpdatePool) and "template" in plan.body:
        assert_template_complete(plan.body["template"])


@settings(max_examples=MAX_EXAMPLES)
@given(matching_pairs(statuses=["READY"]))
def test_applied_update_is_idempotent(pair: tuple[NodePoolSpec, OvhPool]) -> None:
    spec, pool = pair
    plan = plan_update(spec, pool)
    if not isinstance(plan, UpdatePool):
        return

    updated = apply_body(pool, plan.body)

    assert plan_update(spec, updated) == NoChange()


@settings(max_examples=MAX_EXAMPLES)
@given(matching_pairs(statuses=sorted(TRANSITIONAL_STATUSES)))
def test_busy_pool_never_written(pair: tuple[NodePoolSpec, OvhPool]) -> None:
    spec, pool = pair

    plan = plan_update(spec, pool)

    assert isinstance(plan, WaitForPool)


@settings(max_examples=MAX_EXAMPLES)
@given(st.tuples(specs(), pools(statuses=sorted(TRANSITIONAL_STATUSES))))
def test_busy_unmatched_pool_never_written(pair: tuple[NodePoolSpec, OvhPool]) -> None:
    spec, pool = pair

    plan = plan_update(spec, pool)

    assert isinstance(plan, WaitForPool | ImmutableMismatch)


@settings(max_examples=MAX_EXAMPLES)
@given(matching_pairs())
def test_lower_max_carries_desired(pair: tuple[NodePoolSpec, OvhPool]) -> None:
    spec, pool = pair

    plan = plan_update(spec, pool)

    if isinstance(plan, UpdatePool) and plan.body.get("maxNodes", 101) < pool.desired_nodes:
        assert "desiredNodes" in plan.body


@settings(max_examples=MAX_EXAMPLES)
@given(matching_pairs())
def test_raise_min_carries_desired(pair: tuple[NodePoolSpec, OvhPool]) -> None:
    spec, pool = pair

    plan = plan_update(spec, pool)

    if isinstance(plan, UpdatePool) and plan.body.get("minNodes", -1) > pool.desired_nodes:
        assert "desiredNodes" in plan.body
