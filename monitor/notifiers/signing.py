"""Standard Webhooks signatures (https://www.standardwebhooks.com/), pure."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

SECRET_PREFIX = "whsec_"


def secret_key(secret: str) -> bytes:
    """``whsec_``-prefixed secrets are base64 (the standard's format); others are used as UTF-8."""
    if secret.startswith(SECRET_PREFIX):
        try:
            return base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
        except binascii.Error as exc:
            raise ValueError("webhook secret: the part after whsec_ is not base64") from exc
    return secret.encode("utf-8")


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body``."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def verify(key: bytes, msg_id: str, timestamp: int, body: bytes, header: str) -> bool:
    """True when any ``v1`` signature in the (space-separated) header matches."""
    expected = sign(key, msg_id, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in header.split())
