"""Deliver claimed outbox messages: e-mail over SMTP, signed webhooks, chat.

Each attempt is recorded; a failure is retried with exponential backoff, and
a permanent failure or the last attempt leaves a visible dead letter.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy.engine import Engine

from features.alerts.outbox import (
    ClaimedMessage,
    cancel_claimed,
    claim_due,
    record_attempt,
)
from models.alerts.signing import DELIVERY_HEADER, signed_headers

log = logging.getLogger("stallwatch.alerts")


class DeliveryError(RuntimeError):
    """A delivery attempt failed; ``permanent`` when retrying cannot help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class DeliveryConfig:
    """Where and how messages go out; built from the settings by the caller."""

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_from: str = "stallwatch@localhost"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    timeout_seconds: float = 10.0
    webhook_secret: str | None = None
    max_attempts: int = 8
    backoff: timedelta = timedelta(seconds=30)
    lease: timedelta = timedelta(seconds=120)


def message_id(key: str) -> str:
    """Return the stable Message-ID of an outbox message (the same on resend)."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@stallwatch>"


class Deliverer:
    """Claims due outbox messages and sends them."""

    def __init__(
        self,
        engine: Engine,
        config: DeliveryConfig,
        *,
        on_outcome: Callable[[str, str], None] | None = None,
    ) -> None:
        self.engine = engine
        self.config = config
        #: Told (channel, new state) after each attempt, e.g. to count it.
        self.on_outcome = on_outcome
        #: Asked, before a message held for quiet hours is sent, why it should
        #: no longer go (its ticket resolved, its clock stopped); None: send.
        self.recheck: Callable[[ClaimedMessage, datetime], str | None] | None = None
        self._connection: smtplib.SMTP | None = None

    def _smtp(self) -> smtplib.SMTP:
        # One connection serves a whole batch; it is dropped after any error.
        if self._connection is None:
            config = self.config
            smtp = smtplib.SMTP(
                config.smtp_host, config.smtp_port, timeout=config.timeout_seconds
            )
            if config.smtp_starttls:
                smtp.starttls()
            if config.smtp_username and config.smtp_password:
                smtp.login(config.smtp_username, config.smtp_password)
            self._connection = smtp
        return self._connection

    def close(self) -> None:
        """Close the SMTP connection, if one is open."""
        if self._connection is not None:
            try:
                self._connection.quit()
            except (smtplib.SMTPException, OSError):
                self._connection.close()
            self._connection = None

    def send_email(self, message: ClaimedMessage) -> None:
        """Send one e-mail; raise DeliveryError when the server refuses it."""
        email = EmailMessage()
        email["From"] = self.config.smtp_from
        email["To"] = message.address
        email["Subject"] = message.subject
        email["Message-ID"] = message_id(message.key)
        email["X-Stallwatch-Key"] = message.key
        email.set_content(message.body)
        try:
            self._smtp().send_message(email)
        except smtplib.SMTPRecipientsRefused as exc:
            self.close()
            raise DeliveryError(f"recipient refused: {exc}", permanent=True) from exc
        except smtplib.SMTPResponseException as exc:
            self.close()
            raise DeliveryError(
                f"SMTP {exc.smtp_code}: {exc.smtp_error!r}",
                permanent=500 <= exc.smtp_code < 600,
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            self._connection = None
            raise DeliveryError(f"SMTP: {exc}") from exc

    def post_json(self, message: ClaimedMessage, *, signed: bool) -> None:
        """POST the JSON body; a signed webhook carries timestamp and signature."""
        body = message.body.encode()
        headers = {"Content-Type": "application/json", DELIVERY_HEADER: message.key}
        if signed:
            if not self.config.webhook_secret:
                raise DeliveryError(
                    "STALLWATCH_WEBHOOK_SECRET is not set; webhooks are not sent "
                    "unsigned",
                    permanent=True,
                )
            headers |= signed_headers(
                self.config.webhook_secret, int(time.time()), body
            )
        request = urllib.request.Request(
            message.address, data=body, headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(
                request, timeout=self.config.timeout_seconds
            ) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            permanent = 400 <= exc.code < 500 and exc.code not in (408, 429)
            raise DeliveryError(f"HTTP {exc.code}", permanent=permanent) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise DeliveryError(f"HTTP: {exc}") from exc

    def send(self, message: ClaimedMessage) -> None:
        """Deliver one message by its channel."""
        if message.channel == "email":
            self.send_email(message)
        else:
            self.post_json(message, signed=message.channel == "webhook")

    def deliver_due(self, *, now: datetime, limit: int = 100) -> Counter[str]:
        """Claim and deliver the messages due at ``now``; count the outcomes."""
        outcomes: Counter[str] = Counter()
        claimed = claim_due(self.engine, now=now, lease=self.config.lease, limit=limit)
        try:
            for message in claimed:
                outcomes[self._deliver(message, now)] += 1
        finally:
            self.close()
        return outcomes

    def _deliver(self, message: ClaimedMessage, now: datetime) -> str:
        # A message held overnight goes only if its alert still holds now.
        stale = (
            self.recheck(message, now)
            if message.held and self.recheck is not None
            else None
        )
        if stale is not None:
            state = cancel_claimed(self.engine, message, now=now, why=stale)
            log.info(
                "alert_cancelled",
                extra={
                    "outbox_id": message.id,
                    "ticket_id": message.ticket_id,
                    "state": state,
                    "why": stale,
                },
            )
            return state
        try:
            self.send(message)
            error, permanent = None, False
        except DeliveryError as exc:
            error, permanent = str(exc), exc.permanent
        state = record_attempt(
            self.engine,
            message,
            now=now,
            error=error,
            permanent=permanent,
            max_attempts=self.config.max_attempts,
            backoff=self.config.backoff,
        )
        if self.on_outcome is not None:
            self.on_outcome(message.channel, state)
        log.info(
            "alert_sent" if error is None else "alert_delivery_failed",
            extra={
                "outbox_id": message.id,
                "channel": message.channel,
                "recipient": message.recipient,
                "ticket_id": message.ticket_id,
                "attempt": message.attempt,
                "state": state,
                "error": error,
            },
        )
        return state
