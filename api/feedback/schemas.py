"""Request and response models of managers' feedback on flagged tickets."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.risk.schemas import Instant, ReasonOut


class FeedbackIn(BaseModel):
    """Acknowledge a flagged ticket, snooze it until a time, or say it is no stall."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["acknowledge", "snooze", "not_a_stall"]
    until: Instant | None = Field(
        default=None,
        description="Required for snooze (an aware ISO instant); refused otherwise.",
    )
    by: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00]*$")
    note: str | None = Field(default=None, max_length=2000, pattern=r"^[^\x00]*$")

    @model_validator(mode="after")
    def _until_only_for_snooze(self) -> FeedbackIn:
        if self.action == "snooze" and self.until is None:
            raise ValueError("until: expected an aware instant for a snooze")
        if self.action != "snooze" and self.until is not None:
            raise ValueError(f"until: expected no value for {self.action}")
        return self


class FeedbackOut(BaseModel):
    """A stored feedback record; "not a stall" keeps the prediction of the moment."""

    id: int
    ticket_id: str
    action: Literal["acknowledge", "snooze", "not_a_stall"]
    until: datetime | None
    by: str
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
