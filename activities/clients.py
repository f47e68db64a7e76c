"""Marketo and Salesforce clients built from settings (credentials from the environment)."""

from __future__ import annotations

from temporalio.exceptions import ApplicationError

from cadence.config import get_settings
from cadence.integrations.marketo import MarketoClient
from cadence.integrations.salesforce import SalesforceClient


def marketo_client() -> MarketoClient:
    settings = get_settings()
    if not (settings.marketo_client_id and settings.marketo_client_secret):
        raise ApplicationError(
            "Marketo is not configured: set CADENCE_MARKETO_CLIENT_ID and "
            "CADENCE_MARKETO_CLIENT_SECRET",
            type="NotConfigured",
            non_retryable=True,
        )
    return MarketoClient(
        settings.marketo_base_url,
        settings.marketo_client_id,
        settings.marketo_client_secret.get_secret_value(),
    )


def salesforce_client() -> SalesforceClient:
    settings = get_settings()
    if not (settings.salesforce_client_id and settings.salesforce_client_secret):
        raise ApplicationError(
            "Salesforce is not configured: set CADENCE_SALESFORCE_CLIENT_ID and "
            "CADENCE_SALESFORCE_CLIENT_SECRET",
            type="NotConfigured",
            non_retryable=True,
        )
    return SalesforceClient(
        settings.salesforce_base_url,
        settings.salesforce_client_id,
        settings.salesforce_client_secret.get_secret_value(),
        api_version=settings.salesforce_api_version,
    )
