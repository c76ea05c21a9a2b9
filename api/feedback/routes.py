"""HTTP routes of managers' feedback on flagged tickets."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Request

from api.auth.deps import UnauthorizedError, authenticate
from api.deps import get_service, get_settings_dep, resolve_now
from api.errors import ErrorOut
from api.feedback import service as feedback_service
from api.feedback.schemas import FeedbackIn, FeedbackOut
from models.service import StallService
from stallwatch.settings import Settings

router = APIRouter(prefix="/v1", tags=["feedback"])


@router.post(
    "/tickets/{ticket_id:path}/feedback",
    response_model=FeedbackOut,
    status_code=201,
    responses={404: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
def post_feedback(
    request: Request,
    body: FeedbackIn,
    ticket_id: str = Path(min_length=1, max_length=120),
    service: StallService = Depends(get_service),
    settings: Settings = Depends(get_settings_dep),
) -> FeedbackOut:
    """Acknowledge, snooze or mark a ticket "not a stall", and keep the record."""
    now = resolve_now(settings, None)
    # The route policy has let only an authenticated caller in; the record is theirs.
    principal = authenticate(request)
    if principal is None:
        raise UnauthorizedError("feedback needs an API key or a session")
    return feedback_service.record(
        service,
        ticket_id=ticket_id,
        body=body,
        now=now,
        author=feedback_service.author_of(kind=principal.kind, name=principal.name),
    )
