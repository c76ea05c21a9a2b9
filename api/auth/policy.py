"""Which scope each route needs: the one table of the service's access rules.

Every route of the app passes through :func:`enforce_route_policy` (an
app-wide dependency). A route is allowed if it is public, or listed in
:data:`ROUTE_SCOPES`, or carries its own ``Depends(require_scope(...))``;
anything else is refused, so a route added without a rule stays closed.
``tests/api/test_access.py`` walks ``app.routes`` and checks each one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.routing import APIRoute

from api.auth.deps import ForbiddenError, authorize
from features.access.scopes import (
    EVENTS_WRITE,
    FEEDBACK_WRITE,
    LISTS_READ,
    SCORES_READ,
)


@dataclass(frozen=True)
class Rule:
    """What a route needs: a scope (``None``: any valid credential), and
    whether a caller without credentials is sent to the login form."""

    scope: str | None
    page: bool = False


#: Routes open to anyone: liveness, readiness and the login form itself.
PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/login", "/logout"})
#: Mounted static files (no dependency runs there): styles, scripts, Swagger UI.
PUBLIC_MOUNTS = frozenset({"/static", "/docs-assets"})

_TICKET = "/v1/tickets/{ticket_id:path}"
_REPORTS = (
    "backlog",
    "open-age",
    "first-contact-resolution",
    "sla-compliance",
    "weekly-categories",
    "handoffs",
    "model-record",
)

#: (method, path) -> rule. Routes that declare ``require_scope`` themselves
#: (``/metrics``: ``metrics:read``) need no line here.
ROUTE_SCOPES: dict[tuple[str, str], Rule] = {
    # a CRM writes events and reads one ticket's score and clocks
    ("POST", "/v1/events"): Rule(EVENTS_WRITE),
    ("POST", "/v1/risk-scores"): Rule(SCORES_READ),
    ("GET", f"{_TICKET}/sla"): Rule(SCORES_READ),
    # a manager reads lists, reports, alerts and the audit trail ...
    ("GET", "/v1/escalations"): Rule(LISTS_READ),
    ("GET", "/v1/stall-list"): Rule(LISTS_READ),
    ("GET", "/v1/alerts"): Rule(LISTS_READ),
    ("GET", f"{_TICKET}/audit"): Rule(LISTS_READ),
    **{("GET", f"/v1/reports/{name}"): Rule(LISTS_READ) for name in _REPORTS},
    # ... gives feedback and snoozes ...
    ("POST", f"{_TICKET}/feedback"): Rule(FEEDBACK_WRITE),
    # ... and reads the pages (without a session: the login form)
    ("GET", "/"): Rule(LISTS_READ, page=True),
    ("GET", "/tickets/{ticket_id:path}"): Rule(LISTS_READ, page=True),
    ("GET", "/reports"): Rule(LISTS_READ, page=True),
    ("GET", "/reports/{slug}"): Rule(LISTS_READ, page=True),
    # the API's own description: any valid key or session
    ("GET", "/openapi.json"): Rule(None),
    ("GET", "/docs"): Rule(None, page=True),
}


def own_scope(route: Any) -> str | None:
    """Return the scope a route's own ``require_scope`` dependency asks for."""
    dependant = getattr(route, "dependant", None)
    for sub in getattr(dependant, "dependencies", []):
        scope = getattr(sub.call, "required_scope", None)
        if scope is not None:
            return str(scope)
    return None


def rule_for(method: str, path: str, route: Any = None) -> Rule | None:
    """Return the rule of a route; ``None`` if it has none and is not public."""
    rule = ROUTE_SCOPES.get((method, path))
    if rule is not None:
        return rule
    scope = own_scope(route) if route is not None else None
    if scope is not None:
        return Rule(scope)
    return None


def is_public(path: str) -> bool:
    """Tell whether a route or mount is open without credentials."""
    return path in PUBLIC_PATHS or path in PUBLIC_MOUNTS


def enforce_route_policy(request: Request) -> None:
    """Let the request through only as its route's rule allows (app-wide)."""
    route = request.scope.get("route")
    path = route.path if isinstance(route, APIRoute) else request.url.path
    if is_public(path):
        return
    rule = rule_for(request.method, path, route)
    if rule is None:
        if request.method == "HEAD":
            rule = rule_for("GET", path, route)
        if rule is None:
            raise ForbiddenError(
                f"{request.method} {path} has no access rule; add it to "
                "api/auth/policy.py ROUTE_SCOPES"
            )
    authorize(request, rule.scope, page=rule.page)
