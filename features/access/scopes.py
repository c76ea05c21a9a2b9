"""The scopes a credential can hold and the roles that bundle them."""

from __future__ import annotations

EVENTS_WRITE = "events:write"
SCORES_READ = "scores:read"
LISTS_READ = "lists:read"
FEEDBACK_WRITE = "feedback:write"
METRICS_READ = "metrics:read"
ADMIN = "admin"

SCOPES: dict[str, str] = {
    EVENTS_WRITE: "send ticket events (POST /v1/events)",
    SCORES_READ: "read one ticket's risk score, SLA clocks and story",
    LISTS_READ: "read the escalation and stall lists, reports, alerts and pages",
    FEEDBACK_WRITE: "give feedback on a ticket and snooze its alerts",
    METRICS_READ: "read the Prometheus metrics",
    ADMIN: "every scope, and the admin routes",
}

ROLES: dict[str, frozenset[str]] = {
    "crm": frozenset({EVENTS_WRITE, SCORES_READ}),
    "manager": frozenset({LISTS_READ, SCORES_READ, FEEDBACK_WRITE}),
    "admin": frozenset({ADMIN}),
}

# Roles a person can log in with; the CRM role is for machines only.
USER_ROLES = ("manager", "admin")


def grants(held: frozenset[str], scope: str) -> bool:
    """Tell whether the ``held`` scopes allow ``scope`` (admin allows all)."""
    return scope in held or ADMIN in held


def check_scopes(scopes: list[str]) -> frozenset[str]:
    """Return ``scopes`` as a set, or raise naming every unknown one."""
    unknown = sorted(s for s in set(scopes) if s not in SCOPES)
    if unknown:
        raise ValueError(
            f"unknown scope(s) {', '.join(unknown)}; expected one of "
            f"{', '.join(SCOPES)}"
        )
    if not scopes:
        raise ValueError(f"no scope given; expected one of {', '.join(SCOPES)}")
    return frozenset(scopes)


def role_scopes(role: str) -> frozenset[str]:
    """Return the scopes of ``role``, or raise naming the known roles."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    return ROLES[role]
