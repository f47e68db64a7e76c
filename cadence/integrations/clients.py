"""Marketo and Salesforce clients built from settings (credentials from the environment)."""

from __future__ import annotations

from datetime import timedelta

from temporalio.exceptions import ApplicationError

from cadence.core.config import get_settings, off_hint
from cadence.integrations.marketo import MarketoClient, MarketoError
from cadence.integrations.salesforce import SalesforceClient, SalesforceError


def _off(name: str) -> ApplicationError:
    return ApplicationError(
        f"{name} is off: set {off_hint(name.lower())}", type="NotConfigured", non_retryable=True
    )


def marketo_client(timeout_s: float = 30.0) -> MarketoClient:
    settings = get_settings()
    if not (
        settings.marketo_base_url and settings.marketo_client_id and settings.marketo_client_secret
    ):
        raise _off("Marketo")
    return MarketoClient(
        settings.marketo_base_url,
        settings.marketo_client_id,
        settings.marketo_client_secret.get_secret_value(),
        add_timeout_s=settings.marketo_add_timeout_seconds,
        timeout_s=timeout_s,
    )


def salesforce_client() -> SalesforceClient:
    settings = get_settings()
    if not (
        settings.salesforce_base_url
        and settings.salesforce_client_id
        and settings.salesforce_client_secret
    ):
        raise _off("Salesforce")
    return SalesforceClient(
        settings.salesforce_base_url,
        settings.salesforce_client_id,
        settings.salesforce_client_secret.get_secret_value(),
        api_version=settings.salesforce_api_version,
        usage_ceiling=settings.salesforce_api_usage_ceiling,
    )


# How long Marketo's limits take to let a call through again: the rate window (100 calls in
# 20 s) and a moment for the concurrency limit. The daily quota (607) waits for its reset.
_LIMIT_WAIT = {"606": timedelta(seconds=20), "615": timedelta(seconds=5)}


def marketo_failure(err: MarketoError) -> ApplicationError:
    """A Marketo failure as Temporal should retry it: after the limit has passed for 606, 615
    and 607 (a daily quota is not a reason to give up), never for the errors that cannot
    succeed, with the API's code and message."""
    delay = _LIMIT_WAIT.get(err.code)
    if err.code == "607" and err.retry_after_s is not None:
        delay = timedelta(seconds=err.retry_after_s)
    return ApplicationError(
        f"Marketo {err.code}: {err.message}",
        type=f"Marketo{err.code}",
        non_retryable=not err.retryable and delay is None,
        next_retry_delay=delay,
    )


def salesforce_failure(err: SalesforceError) -> ApplicationError:
    """A Salesforce failure as Temporal should retry it: after the wait a limit names, never
    for the errors that cannot succeed, with the API's code and message."""
    delay = timedelta(seconds=err.retry_after_s) if err.retry_after_s else None
    return ApplicationError(
        f"Salesforce {err.status} {err.error_code}: {err.message}",
        type=f"Salesforce{err.error_code}",
        non_retryable=not err.retryable,
        next_retry_delay=delay,
    )
