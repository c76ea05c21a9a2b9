"""Signed webhooks: an HMAC-SHA256 signature over the timestamp and the body.

Headers sent with every webhook:

- ``X-Stallwatch-Timestamp``: Unix seconds when the request was signed;
- ``X-Stallwatch-Signature``: ``v1=`` and the hex HMAC-SHA256, keyed by the
  shared secret, of ``"<timestamp>.<body>"``;
- ``X-Stallwatch-Delivery``: the message's unique key; a retried or resent
  delivery carries the same one, so the receiver can drop a copy.

A receiver checks the signature with :func:`verify` and refuses a timestamp
outside its replay window.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

TIMESTAMP_HEADER = "X-Stallwatch-Timestamp"
SIGNATURE_HEADER = "X-Stallwatch-Signature"
DELIVERY_HEADER = "X-Stallwatch-Delivery"
#: Default replay window of a receiver, seconds either side of its clock.
REPLAY_WINDOW_SECONDS = 300


class SignatureError(ValueError):
    """A webhook's signature or timestamp is missing, wrong or too old."""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """Return the signature header value for a body sent at ``timestamp``."""
    signed = str(timestamp).encode() + b"." + body
    return "v1=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signed_headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Return the timestamp and signature headers."""
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float,
    window: float = REPLAY_WINDOW_SECONDS,
) -> None:
    """Check a received webhook; raise :class:`SignatureError` naming the problem."""
    lower = {k.lower(): v for k, v in headers.items()}
    raw_time = lower.get(TIMESTAMP_HEADER.lower())
    sent = lower.get(SIGNATURE_HEADER.lower())
    if raw_time is None or sent is None:
        raise SignatureError(
            f"missing header: expected {TIMESTAMP_HEADER} and {SIGNATURE_HEADER}"
        )
    try:
        timestamp = int(raw_time)
    except ValueError:
        raise SignatureError(
            f"{TIMESTAMP_HEADER}: expected Unix seconds, got {raw_time!r}"
        ) from None
    if abs(now - timestamp) > window:
        raise SignatureError(
            f"{TIMESTAMP_HEADER}: {timestamp} is outside the replay window of "
            f"{window:g} s around {now:.0f}"
        )
    if not hmac.compare_digest(signature(secret, timestamp, body), sent):
        raise SignatureError(f"{SIGNATURE_HEADER}: does not match the body")
