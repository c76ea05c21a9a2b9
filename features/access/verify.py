"""The per-request credential check: a hash, a lookup and a short cache.

A key or session seen in the last ``ttl_seconds`` is answered from memory, so
a busy CRM costs one SHA-256 and one dictionary lookup per request. The price
is a bound on revocation: a revoked key, a removed user or a closed session
stays usable for at most ``ttl_seconds`` in another worker process (the
worker that closes a session forgets it at once).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from features.access.keys import find_key, hash_token
from features.access.scopes import ROLES
from features.access.users import find_session

#: Default lifetime of a cached answer, in seconds.
CACHE_SECONDS = 5.0
_MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class Credential:
    """A checked credential: whose it is and what it may do."""

    kind: str  # "key" or "session"
    name: str
    scopes: frozenset[str]
    expires_at: datetime | None = None


class AccessGate:
    """Check API keys and session tokens against the store, with a short cache."""

    def __init__(
        self, engine: Engine, *, secret: bytes, ttl_seconds: float = CACHE_SECONDS
    ):
        self.engine = engine
        self.ttl_seconds = ttl_seconds
        self._secret = secret
        self._cache: dict[str, tuple[float, Credential | None]] = {}
        self._lock = threading.Lock()

    def _cached(self, slot: str) -> tuple[bool, Credential | None]:
        hit = self._cache.get(slot)
        if hit is None or hit[0] < time.monotonic():
            return False, None
        return True, hit[1]

    def _remember(self, slot: str, credential: Credential | None) -> None:
        with self._lock:
            if len(self._cache) >= _MAX_ENTRIES:
                self._cache.clear()
            self._cache[slot] = (time.monotonic() + self.ttl_seconds, credential)

    def check_key(self, token: str) -> Credential | None:
        """Return a live key's credential; ``None`` if unknown or revoked."""
        slot = "k" + hash_token(token)
        known, credential = self._cached(slot)
        if not known:
            key = find_key(self.engine, token)
            credential = None
            if key is not None and key.revoked_at is None:
                credential = Credential("key", key.name, key.scopes)
            self._remember(slot, credential)
        return credential

    def check_session(self, token: str) -> Credential | None:
        """Return the credential of a live session ``token``, ``None`` otherwise."""
        slot = "s" + hash_token(token)
        known, credential = self._cached(slot)
        now = datetime.now(UTC)
        if not known:
            found = find_session(self.engine, token, now=now)
            credential = None
            if found is not None:
                credential = Credential(
                    "session",
                    found.user.name,
                    ROLES[found.user.role],
                    expires_at=found.expires_at,
                )
            self._remember(slot, credential)
        expires = credential.expires_at if credential is not None else None
        if expires is not None and expires <= now:
            return None
        return credential

    def forget_session(self, token: str) -> None:
        """Drop a closed session from this process's cache."""
        with self._lock:
            self._cache.pop("s" + hash_token(token), None)

    def csrf_token(self, session_token: str) -> str:
        """Return the CSRF token bound to a session (an HMAC of its token)."""
        return self._sign("session", session_token)

    def login_token(self, nonce: str) -> str:
        """Return the CSRF token of a login form bound to its cookie ``nonce``."""
        return self._sign("login", nonce)

    def _sign(self, purpose: str, value: str) -> str:
        message = f"{purpose}:{value}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    @staticmethod
    def same_token(sent: str, expected: str) -> bool:
        """Compare two tokens in constant time."""
        return bool(expected) and hmac.compare_digest(sent.encode(), expected.encode())
