"""Signed tokens for open pixels, click redirects and unsubscribe links.

A token is ``<payload>.<signature>``: the payload is compact JSON in base64url, the signature
the first 16 bytes of HMAC-SHA256 over it with ``CADENCE_TRACKING_SECRET``. An altered or
forged token fails verification, and the endpoints then answer 404 and write nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from cadence.core.config import Settings, get_settings


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key(settings: Settings) -> bytes:
    if settings.tracking_secret is None:
        raise RuntimeError("CADENCE_TRACKING_SECRET is not set: tracking links are off")
    return settings.tracking_secret.get_secret_value().encode()


def sign(payload: dict[str, Any], settings: Settings | None = None) -> str:
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    mac = hmac.new(_key(settings or get_settings()), body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(mac[:16])}"


def verify(token: str, settings: Settings | None = None) -> dict[str, Any] | None:
    """The payload of a genuine token, else None."""
    settings = settings or get_settings()
    if settings.tracking_secret is None or token.count(".") != 1:
        return None
    body, signature = token.split(".")
    expected = hmac.new(_key(settings), body.encode(), hashlib.sha256).digest()[:16]
    try:
        if not hmac.compare_digest(_unb64(signature), expected):
            return None
        payload = json.loads(_unb64(body))
    except (ValueError, TypeError):
        return None
    return payload if isinstance(payload, dict) else None


def tracking_enabled(settings: Settings | None = None) -> bool:
    settings = settings or get_settings()
    return settings.tracking_secret is not None and bool(settings.public_base_url)
