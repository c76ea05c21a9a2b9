"""Request and response models of managers' feedback on flagged tickets."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from api.risk.schemas import Instant, ReasonOut


class FeedbackIn(BaseModel):
    """Acknowledge a flagged ticket, snooze it until a time, or say it is no stall."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["acknowledge", "snooze", "not_a_stall"]
    until: Instant | None = Field(
        default=None,
        validate_default=True,
        description="Required for snooze (an aware ISO instant); refused otherwise.",
    )
    by: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        pattern=r"^[^\x00]*$",
        description="Who the sender says acted; the record's author is the "
        "credential's owner, and this name is kept in the note.",
    )
    note: str | None = Field(default=None, max_length=2000, pattern=r"^[^\x00]*$")

    @field_validator("until")
    @classmethod
    def _until_only_for_snooze(
        cls, until: datetime | None, info: ValidationInfo
    ) -> datetime | None:
        action = info.data.get("action")
        if action is None:  # the action itself is refused; no rule to apply
            return until
        if action == "snooze" and until is None:
            raise ValueError("expected an aware instant for a snooze")
        if action != "snooze" and until is not None:
            raise ValueError(f"expected no value for {action}")
        return until


class FeedbackOut(BaseModel):
    """A stored feedback record; "not a stall" keeps the prediction of the moment."""

    id: int
    ticket_id: str
    action: Literal["acknowledge", "snooze", "not_a_stall"]
    until: datetime | None
    by: str = Field(
        description="The credential that sent it: user:<login> or key:<key name>."
    )
    note: str | None
    recorded_at: datetime
    probability: float | None = Field(
        default=None, description="Stall probability when the verdict was given."
    )
    reasons: list[ReasonOut] | None = Field(
        default=None, description="The reasons behind that probability."
    )
    model_version: str | None = None


class FeedbackSummaryOut(BaseModel):
    """A ticket's latest feedback, as shown on the escalation list."""

    action: Literal["acknowledge", "snooze", "not_a_stall"]
    until: datetime | None
    by: str
    note: str | None
    recorded_at: datetime
