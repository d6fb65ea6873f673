"""Operator settings, read once from environment variables.

Every setting has an `OVHNP_` variable; the operator's own OVH credentials use python-ovh's
variable names (`OVH_ENDPOINT`, `OVH_APPLICATION_KEY`, …). The Helm chart's values mirror them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class OperatorSettings(BaseSettings):
    """Settings of one operator process."""

    model_config = SettingsConfigDict(env_prefix="OVHNP_", extra="ignore")

    namespaces: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Namespaces to watch, comma-separated; empty watches every namespace.",
    )
    observe_interval_seconds: float = Field(
        60.0, gt=0, description="Seconds between two listings of a cluster's pools at rest."
    )
    busy_interval_seconds: float = Field(
        15.0, gt=0, description="Seconds between two listings while a pool of the cluster changes."
    )
    tick_seconds: float = Field(
        5.0, gt=0, description="Seconds between two checks of each object by the ticker."
    )
    event_freshness_seconds: float = Field(
        2.0, ge=0, description="Age in seconds up to which a listing serves a spec change."
    )
    stalled_retry_seconds: float = Field(
        300.0, gt=0, description="Seconds before an object that needs a person is tried again."
    )
    backoff_max_seconds: float = Field(
        300.0, gt=0, description="Maximum wait in seconds between retries of transient errors."
    )
    rate_limit_per_second: float = Field(
        1.0, gt=0, description="OVH calls per second allowed for each credential, on average."
    )
    rate_limit_burst: int = Field(
        20, ge=1, description="OVH calls one credential may make at once before the rate applies."
    )
    request_timeout_seconds: float = Field(
        30.0, gt=0, description="Connect and read timeout in seconds of every OVH call."
    )
    secret_cache_seconds: float = Field(
        600.0,
        ge=0,
        description=(
            "Seconds a credentials Secret is reused before it is read again; a Secret whose "
            "keys OVH rejects is read again at the next retry."
        ),
    )
    status_refresh_seconds: float = Field(
        1800.0, gt=0, description="Seconds after which lastSyncTime is rewritten with no change."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["full", "plain", "json"] = Field(
        "full", description="Kopf log format: full (with the object), plain, or json."
    )
    metrics_port: int = Field(9090, ge=0, le=65535, description="Prometheus port; 0 disables.")
    health_port: int = Field(8080, ge=0, le=65535, description="Liveness port; 0 disables.")
    peering: str | None = Field(
        None, description="Kopf peering name; unset runs standalone with no peering objects."
    )
    peering_priority: int | None = Field(
        None, ge=1, description="Kopf peering priority; unset draws a random one per process."
    )

    ovh_endpoint: str | None = Field(None, validation_alias=AliasChoices("OVH_ENDPOINT"))
    ovh_application_key: str | None = Field(
        None, validation_alias=AliasChoices("OVH_APPLICATION_KEY")
    )
    ovh_application_secret: SecretStr | None = Field(
        None, validation_alias=AliasChoices("OVH_APPLICATION_SECRET")
    )
    ovh_consumer_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("OVH_CONSUMER_KEY")
    )
    ovh_client_id: str | None = Field(None, validation_alias=AliasChoices("OVH_CLIENT_ID"))
    ovh_client_secret: SecretStr | None = Field(
        None, validation_alias=AliasChoices("OVH_CLIENT_SECRET")
    )

    def default_credential_keys(self) -> dict[str, str]:
        """Return the operator's own credentials under the keys a credentials Secret uses."""
        values = {
            "endpoint": self.ovh_endpoint,
            "applicationKey": self.ovh_application_key,
            "applicationSecret": _reveal(self.ovh_application_secret),
            "consumerKey": _reveal(self.ovh_consumer_key),
            "clientId": self.ovh_client_id,
            "clientSecret": _reveal(self.ovh_client_secret),
        }
        return {key: value for key, value in values.items() if value}

    @field_validator("namespaces", mode="before")
    @classmethod
    def split_namespaces(cls, raw: object) -> object:
        """Split the comma-separated namespace list of the environment variable."""
        if isinstance(raw, str):
            return [item.strip() for item in raw.split(",") if item.strip()]
        return raw


def _reveal(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None
