"""Standard Webhooks signatures (https://www.standardwebhooks.com/), pure.

The secret is ``whsec_`` + base64 of the key bytes; the key is the *decoded* bytes, exactly
as the reference libraries use it, so a receiver's off-the-shelf verifier accepts what we send.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"
MIN_KEY_BYTES = 24  # the standard asks for 24 to 64 random bytes
NEW_KEY_BYTES = 32


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_…`` secret; ValueError (saying why, never echoing it) else."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"must start with {SECRET_PREFIX!r} (generate one with `monitor secret`)")
    encoded = secret[len(SECRET_PREFIX) :]
    try:
        key = base64.b64decode(encoded, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"the part after {SECRET_PREFIX} is not valid base64") from exc
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(
            f"decodes to {len(key)} bytes; at least {MIN_KEY_BYTES} are required"
            " (generate one with `monitor secret`)"
        )
    return key


def new_secret(nbytes: int = NEW_KEY_BYTES) -> str:
    """A fresh random ``whsec_`` secret."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(nbytes)).decode("ascii")


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body``."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def verify(key: bytes, msg_id: str, timestamp: int, body: bytes, header: str) -> bool:
    """True when any ``v1`` signature in the (space-separated) header matches."""
    expected = sign(key, msg_id, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in header.split())
