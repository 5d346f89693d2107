"""Webhooks, the pure part: Standard Webhooks signatures (https://www.standardwebhooks.com), secrets, and which
targets a webhook may have (https only outside development; private networks refused unless allowed)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
from urllib.parse import urlsplit

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A signing secret as Standard Webhooks writes it: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">``."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(_key(secret), signed, hashlib.sha256).digest()).decode()


def signed_headers(secrets_in_use: list[str], message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three headers of one delivery; during a rotation one signature per active secret, space-separated."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(s, message_id, timestamp, body) for s in secrets_in_use),
        "content-type": "application/cloudevents+json; charset=utf-8",
    }


class TargetRefused(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def check_url(url: str, *, allow_loopback_http: bool) -> tuple[str, str]:
    """(scheme, host) of an acceptable webhook URL. https only; plain http to a loopback host where the setting
    allows it (development)."""
    try:
        parts = urlsplit(url)
        port = parts.port  # a malformed port raises here
    except ValueError:
        raise TargetRefused("invalid_webhook_url", "回调地址无效 (malformed URL)") from None
    del port
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused("invalid_webhook_url", "回调地址须为 http(s) URL (an http or https URL)")
    if parts.username or parts.password:
        raise TargetRefused("invalid_webhook_url", "回调地址不能包含用户名或密码 (no credentials in the URL)")
    if parts.scheme == "http" and not (allow_loopback_http and is_loopback_name(parts.hostname)):
        raise TargetRefused("https_required", "回调地址须使用 HTTPS (https only)")
    return parts.scheme, parts.hostname


def is_loopback_name(host: str) -> bool:
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def address_problem(address: str, *, allow_private: bool, allow_loopback: bool) -> str | None:
    """Why a webhook may not be sent to ``address`` (None: it may)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return None if allow_loopback or allow_private else "private_target"
    if ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        return "private_target"
    if ip.is_private or ip.is_link_local or not ip.is_global:
        return None if allow_private else "private_target"
    return None
