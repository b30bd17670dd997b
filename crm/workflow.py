"""The life of a case as a table: states, the allowed transitions and who may perform them.

One service (`crm.services.case_transition`) performs every change of state; it reads this
table and nothing else, so the rules of the administration live in one place and one test
walks all of it (crm/tests/test_workflow.py).

Roles are relative to the case: the citizen is the requester (or the person the case is
about), an agent is a member of the case's queue, a supervisor supervises a queue of the
case's department, and "system" is the platform itself (payments settled, documents sealed,
SLA watch) acting without a user.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class CaseState(models.TextChoices):
    SUBMITTED = "submitted", _("submitted")
    AWAITING_PAYMENT = "awaiting_payment", _("awaiting payment")
    IN_PROGRESS = "in_progress", _("in progress")
    AWAITING_CITIZEN = "awaiting_citizen", _("waiting for your answer")
    APPROVED = "approved", _("approved")
    REJECTED = "rejected", _("rejected")
    ISSUED = "issued", _("document issued")
    CLOSED = "closed", _("closed")
    CANCELLED = "cancelled", _("cancelled")


class Role(models.TextChoices):
    CITIZEN = "citizen", _("citizen")
    AGENT = "agent", _("agent")
    SUPERVISOR = "supervisor", _("supervisor")
    SYSTEM = "system", _("system")


S = CaseState
CITIZEN, AGENT, SUPERVISOR, SYSTEM = Role.CITIZEN, Role.AGENT, Role.SUPERVISOR, Role.SYSTEM
STAFF = frozenset({AGENT, SUPERVISOR})

# (from, to) -> roles allowed. Anything not listed is refused.
TRANSITIONS: dict[tuple[CaseState, CaseState], frozenset[Role]] = {
    # intake routing, done by the platform right after submission
    (S.SUBMITTED, S.AWAITING_PAYMENT): frozenset({SYSTEM}),
    (S.SUBMITTED, S.IN_PROGRESS): frozenset({SYSTEM}) | STAFF,
    # instant procedures: approved by the platform, the document is issued without an agent
    (S.SUBMITTED, S.APPROVED): frozenset({SYSTEM}),
    (S.SUBMITTED, S.CANCELLED): frozenset({CITIZEN}) | STAFF,
    # payment settled: an instant procedure is approved, the others enter their queue;
    # an unpaid request can be withdrawn by the citizen or expire (system)
    (S.AWAITING_PAYMENT, S.APPROVED): frozenset({SYSTEM}),
    (S.AWAITING_PAYMENT, S.IN_PROGRESS): frozenset({SYSTEM}),
    (S.AWAITING_PAYMENT, S.CANCELLED): frozenset({CITIZEN, SYSTEM}) | STAFF,
    # agent work
    (S.IN_PROGRESS, S.AWAITING_CITIZEN): STAFF,
    (S.IN_PROGRESS, S.APPROVED): STAFF,
    (S.IN_PROGRESS, S.REJECTED): STAFF,
    (S.IN_PROGRESS, S.CANCELLED): frozenset({CITIZEN}) | STAFF,
    # the citizen answers (or the agent takes the case back without an answer)
    (S.AWAITING_CITIZEN, S.IN_PROGRESS): frozenset({CITIZEN}) | STAFF,
    (S.AWAITING_CITIZEN, S.REJECTED): STAFF,
    (S.AWAITING_CITIZEN, S.CANCELLED): frozenset({CITIZEN, SYSTEM}) | STAFF,
    # delivery: a sealed document (signing app) or, for letters and field visits, the agent
    # closes the case once done
    (S.APPROVED, S.ISSUED): frozenset({SYSTEM}),
    (S.APPROVED, S.CLOSED): frozenset({SYSTEM}) | STAFF,
    (S.ISSUED, S.CLOSED): frozenset({SYSTEM}) | STAFF,
}

# A case in one of these states is finished: no more work, counted as closed in statistics.
FINAL_STATES: frozenset[CaseState] = frozenset({S.REJECTED, S.CLOSED, S.CANCELLED})
OPEN_STATES: frozenset[CaseState] = frozenset(set(CaseState) - FINAL_STATES)
# States in which the case sits in an agent's queue and the SLA clock matters.
WORK_STATES: frozenset[CaseState] = frozenset({S.IN_PROGRESS, S.AWAITING_CITIZEN, S.APPROVED})


def allowed_roles(from_state: str, to_state: str) -> frozenset[Role]:
    return TRANSITIONS.get((CaseState(from_state), CaseState(to_state)), frozenset())


def is_allowed(from_state: str, to_state: str, role: str) -> bool:
    return Role(role) in allowed_roles(from_state, to_state)


def next_states(from_state: str, roles: set[str] | frozenset[str]) -> list[CaseState]:
    """The states reachable from `from_state` by someone holding one of `roles`."""
    wanted = {Role(r) for r in roles}
    return [to for (frm, to), allowed in TRANSITIONS.items()
            if frm == from_state and allowed & wanted]
