"""Run-time settings of the simulator, changeable through the seed file and the control API."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

BUSY_PUT_POLICIES = ("accept", "reject", "conflict")
QUOTA_MODES = ("reject", "status")
FORBIDDEN_PROJECT_STATUSES = (403, 404)
DUPLICATE_NAME_STATUSES = (400, 409)


class SettingsError(ValueError):
    """Raised when a settings document contains an unknown key or an invalid value."""


@dataclass
class Settings:
    """Behaviour switches; JSON keys are the camelCase forms of the field names."""

    time_scale: float = 1.0
    node_seconds: float = 60.0
    node_delete_seconds: float | None = None
    transitional_reads: int = 1
    delete_ready_reads: int = 1
    busy_put_policy: str = "accept"
    quota_mode: str = "reject"
    clock_skew_seconds: float = 300.0
    token_lifetime_seconds: float = 3600.0
    forbidden_project_status: int = 404
    duplicate_name_status: int = 400
    max_nodes_per_pool: int = 100
    anti_affinity_max_nodes: int = 5
    autoscaler_interval_seconds: float | None = None
    autoscaler_random_seed: int | None = None

    def install_seconds(self) -> float:
        """Return the real time, in seconds, that a new node spends in INSTALLING."""
        return self.node_seconds * self.time_scale

    def removal_seconds(self) -> float:
        """Return the real time, in seconds, that a removed node spends in DELETING."""
        seconds = (
            self.node_seconds if self.node_delete_seconds is None else self.node_delete_seconds
        )
        return seconds * self.time_scale

    def is_instant(self) -> bool:
        """Return True when transitions end after a number of reads instead of after a delay."""
        return self.node_seconds == 0

    def to_json(self) -> dict[str, Any]:
        """Return the settings as a JSON object with camelCase keys."""
        return {_camel(field.name): getattr(self, field.name) for field in dataclasses.fields(self)}

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a JSON object of camelCase keys, checking every value before changing any."""
        staged = dataclasses.replace(self)
        for key, value in changes.items():
            name = _snake(key)
            if name not in _FIELD_TYPES:
                raise SettingsError(
                    f"unknown setting {key!r}; known settings: {sorted(self.to_json())}"
                )
            setattr(staged, name, _check_value(key, _FIELD_TYPES[name], value))

        _check_choices(staged)
        for field in dataclasses.fields(self):
            setattr(self, field.name, getattr(staged, field.name))


_FIELD_TYPES = {field.name: str(field.type) for field in dataclasses.fields(Settings)}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _snake(key: str) -> str:
    return "".join(f"_{char.lower()}" if char.isupper() else char for char in key)


def _check_value(key: str, type_name: str, value: Any) -> Any:
    optional = "None" in type_name
    if value is None:
        if optional:
            return None
        raise SettingsError(f"setting {key!r} cannot be null")

    if type_name.startswith("float"):
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise SettingsError(f"setting {key!r} must be a number >= 0, got {value!r}")
        return float(value)
    if type_name.startswith("int"):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise SettingsError(f"setting {key!r} must be an integer >= 0, got {value!r}")
        return value
    if not isinstance(value, str):
        raise SettingsError(f"setting {key!r} must be a string, got {value!r}")
    return value


def _check_choices(settings: Settings) -> None:
    choices: list[tuple[str, object, tuple[object, ...]]] = [
        ("busyPutPolicy", settings.busy_put_policy, BUSY_PUT_POLICIES),
        ("quotaMode", settings.quota_mode, QUOTA_MODES),
        ("forbiddenProjectStatus", settings.forbidden_project_status, FORBIDDEN_PROJECT_STATUSES),
        ("duplicateNameStatus", settings.duplicate_name_status, DUPLICATE_NAME_STATUSES),
    ]
    for key, value, allowed in choices:
        if value not in allowed:
            raise SettingsError(f"setting {key!r} must be one of {list(allowed)}, got {value!r}")

    if settings.autoscaler_interval_seconds == 0:
        raise SettingsError("setting 'autoscalerIntervalSeconds' must be > 0 or null")
