"""JSON forms of the simulated objects, with the field names of the OVH API schema."""

from __future__ import annotations

import copy
import re
import time
from typing import Any

from ovh_api_simulator.lifecycle import pool_status, size_status
from ovh_api_simulator.model import INSTALLING, READY, Cluster, Flavor, Node, Pool, Project


def iso_time(timestamp: float | None) -> str | None:
    """Format a Unix time like OVH does: second precision, UTC, suffix Z."""
    if timestamp is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


def pool_json(pool: Pool) -> dict[str, Any]:
    """Return the cloud.kube.NodePool object of a pool."""
    current = len(pool.nodes)
    ready = sum(1 for node in pool.nodes if node.status == READY)
    return {
        "id": pool.id,
        "projectId": pool.project_id,
        "name": pool.name,
        "flavor": pool.flavor,
        "status": pool_status(pool),
        "sizeStatus": size_status(pool),
        "autoscale": pool.autoscale,
        "monthlyBilled": pool.monthly_billed,
        "antiAffinity": pool.anti_affinity,
        "desiredNodes": pool.desired_nodes,
        "minNodes": pool.min_nodes,
        "maxNodes": pool.max_nodes,
        "currentNodes": current,
        "availableNodes": ready,
        "upToDateNodes": current,
        "createdAt": iso_time(pool.created_at),
        "updatedAt": iso_time(pool.updated_at),
        "autoscaling": dict(pool.autoscaling),
        "template": copy.deepcopy(pool.template),
        "availabilityZones": None
        if pool.availability_zones is None
        else list(pool.availability_zones),
        "attachFloatingIps": copy.deepcopy(pool.attach_floating_ips),
    }


def node_json(pool: Pool, node: Node, version: str) -> dict[str, Any]:
    """Return the cloud.kube.Node object of a node; instanceId is null while it installs."""
    return {
        "id": node.id,
        "projectId": pool.project_id,
        "instanceId": None if node.status == INSTALLING else node.instance_id,
        "nodePoolId": pool.id,
        "name": node.name,
        "flavor": pool.flavor,
        "status": node.status,
        "version": version,
        "isUpToDate": True,
        "createdAt": iso_time(node.created_at),
        "updatedAt": iso_time(node.updated_at),
        "deployedAt": iso_time(node.deployed_at),
        "deletedAt": iso_time(node.deleted_at),
    }


def cluster_json(cluster: Cluster) -> dict[str, Any]:
    """Return the cloud.kube.Cluster object of a cluster."""
    host_id = cluster.id.replace("-", "")[:6]
    region_code = re.sub(r"[^a-z]", "", cluster.region.lower())[:3] or "gra"
    return {
        "id": cluster.id,
        "region": cluster.region,
        "name": cluster.name,
        "url": f"{host_id}.c1.{region_code}.k8s.ovh.net",
        "nodesUrl": f"{host_id}.nodes.c1.{region_code}.k8s.ovh.net",
        "version": cluster.version,
        "nextUpgradeVersions": [],
        "kubeProxyMode": "iptables",
        "customization": {
            "apiServer": {
                "admissionPlugins": {
                    "enabled": ["AlwaysPullImages", "NodeRestriction"],
                    "disabled": [],
                }
            },
            "kubeProxy": {"iptables": {}, "ipvs": {}},
        },
        "status": "READY",
        "updatePolicy": "ALWAYS_UPDATE",
        "isUpToDate": True,
        "controlPlaneIsUpToDate": True,
        "privateNetworkId": None,
        "privateNetworkConfiguration": None,
        "nodesSubnetId": None,
        "loadBalancersSubnetId": None,
        "ipAllocationPolicy": None,
        "plan": "free",
        "auditLogsSubscribed": False,
        "createdAt": iso_time(cluster.created_at),
        "updatedAt": iso_time(cluster.created_at),
    }


def project_json(project: Project) -> dict[str, Any]:
    """Return the cloud.ProjectWithIAM object of a project."""
    return {
        "project_id": project.id,
        "projectName": project.description,
        "description": project.description,
        "planCode": "project.2018",
        "unleash": False,
        "expiration": None,
        "creationDate": iso_time(project.created_at),
        "orderId": None,
        "access": "full",
        "manualQuota": False,
        "status": "ok",
        "iam": {"id": project.id, "urn": f"urn:v1:eu:resource:publicCloudProject:{project.id}"},
    }


def flavor_json(flavor: Flavor) -> dict[str, Any]:
    """Return the cloud.kube.Flavor object of a flavor."""
    return {
        "name": flavor.name,
        "category": flavor.category,
        "state": flavor.state,
        "vCPUs": flavor.vcpus,
        "ram": flavor.ram,
        "gpus": flavor.gpus,
    }
