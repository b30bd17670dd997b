"""Reads of the CIRM, permission-scoped: the back office, the portal and the terminal API
all ask these functions which cases a user may see, so the rule lives in one place.

- a citizen sees the cases they requested and the cases about their person (a request made
  for them at the counter is theirs too);
- an agent sees the cases of the queues they are a member of;
- a supervisor sees every queue of the departments they supervise;
- a superuser sees everything.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import BooleanField, Exists, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from catalogue.constants import Channel
from core.errors import ValidationFailed
from core.roles import group_names
from crm import sla
from crm.constants import PUBLIC_EVENT_KINDS
from crm.errors import CaseNotFound
from crm.models import Case, CaseDraft, CaseEvent, Queue
from crm.workflow import FINAL_STATES, CaseState, Role
from identity.constants import GROUP_COUNTER_AGENT
from identity.models import User


def _authenticated(user: Any) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False)
                and getattr(user, "is_active", False))


# --- roles ------------------------------------------------------------------------------

def supervised_departments(user: User) -> set[str]:
    if not _authenticated(user):
        return set()
    return set(Queue.objects.filter(supervisors=user).values_list("department", flat=True))


@dataclass(frozen=True)
class StaffScope:
    """What a member of staff works on, read in two queries (their queues with their role
    in each, and their group names) so that a page asking many role questions (the admin
    menu, the list, its filters) asks the database once. Not cached here: the admin views
    keep one per request (crm.admin_views.scope_for), so a change of membership shows on
    the next request."""

    queues: tuple[Queue, ...] = ()
    member_queue_ids: frozenset[int] = frozenset()
    supervised_departments: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    is_superuser: bool = False

    @property
    def queue_ids(self) -> list[int]:
        return [q.pk for q in self.queues]

    @property
    def works_cases(self) -> bool:
        return bool(self.queues)

    @property
    def is_counter_agent(self) -> bool:
        return self.is_superuser or GROUP_COUNTER_AGENT in self.groups


def staff_scope(user: User) -> StaffScope:
    if not _authenticated(user):
        return StaffScope()
    member = Queue.members.through.objects.filter(queue=OuterRef("pk"), user=user)
    supervisor = Queue.supervisors.through.objects.filter(queue=OuterRef("pk"), user=user)
    queues = Queue.objects.annotate(is_member=Exists(member), is_supervisor=Exists(supervisor))
    if not user.is_superuser:
        supervised = Queue.objects.filter(supervisors=user).values("department")
        queues = queues.filter(Q(Exists(member)) | Q(department__in=supervised))
    rows = tuple(queues.order_by("department", "code"))
    return StaffScope(
        queues=rows,
        member_queue_ids=frozenset(q.pk for q in rows if q.is_member),
        supervised_departments=frozenset(q.department for q in rows if q.is_supervisor),
        groups=group_names(user),
        is_superuser=user.is_superuser)


def queues_of(user: User) -> QuerySet[Queue]:
    """The queues `user` works: their own, and every queue of a department they supervise."""
    if not _authenticated(user):
        return Queue.objects.none()
    if user.is_superuser:
        return Queue.objects.all()
    departments = Queue.objects.filter(supervisors=user).values("department")
    return Queue.objects.filter(Q(members=user) | Q(department__in=departments)).distinct()


def visible_queue_ids(user: User) -> list[int]:
    return list(queues_of(user).values_list("id", flat=True))


def can_work_queue(user: User, queue: Queue) -> bool:
    if not _authenticated(user):
        return False
    if user.is_superuser:
        return True
    return Queue.objects.filter(
        Q(pk=queue.pk, members=user)
        | Q(department=queue.department, supervisors=user)).exists()


def is_counter_agent(user: User) -> bool:
    if not _authenticated(user):
        return False
    return user.is_superuser or user.groups.filter(name=GROUP_COUNTER_AGENT).exists()


def roles_on_case(user: User | None, case: Case) -> set[Role]:
    """What `user` is to `case`: citizen, agent (queue member), supervisor (department)."""
    if not _authenticated(user):
        return set()
    roles: set[Role] = set()
    if case.requester_id == user.pk or (user.person_id and user.person_id == case.person_id):
        roles.add(Role.CITIZEN)
    if user.is_superuser:
        roles.add(Role.SUPERVISOR)
        return roles
    department = case.queue.department if case.queue_id else case.procedure.department
    if Queue.objects.filter(department=department, supervisors=user).exists():
        roles.add(Role.SUPERVISOR)
    if case.queue_id and Queue.objects.filter(pk=case.queue_id, members=user).exists():
        roles.add(Role.AGENT)
    return roles


# --- visibility -------------------------------------------------------------------------

def cases_of_citizen(user: User) -> QuerySet[Case]:
    """Every case of this citizen, from every channel."""
    if not _authenticated(user):
        return Case.objects.none()
    condition = Q(requester=user)
    if user.person_id:
        condition |= Q(person_id=user.person_id)
    return Case.objects.filter(condition).select_related("procedure")


def cases_visible_to(user: User, *, queue_ids: list[int] | None = None) -> QuerySet[Case]:
    """The cases `user` may see; `queue_ids`, when the caller already knows the user's
    queues (StaffScope.queue_ids), spares the query that reads them."""
    if not _authenticated(user):
        return Case.objects.none()
    if user.is_superuser:
        return Case.objects.all()
    condition = Q(requester=user)
    if user.person_id:
        condition |= Q(person_id=user.person_id)
    if not user.is_staff:
        queue_ids = []
    elif queue_ids is None:
        queue_ids = visible_queue_ids(user)
    if queue_ids:
        condition |= Q(queue_id__in=queue_ids)
    return Case.objects.filter(condition)


def case_get_for_user(*, user: User, reference: str) -> Case:
    try:
        return (cases_visible_to(user)
                .select_related("procedure", "person", "queue", "assignee", "requester")
                .get(reference=str(reference).strip().upper()))
    except Case.DoesNotExist:
        raise CaseNotFound() from None


def case_timeline(case: Case, *, public_only: bool = False) -> list[CaseEvent]:
    """The events of a case, oldest first; `public_only` keeps what the citizen may see."""
    events = case.events.select_related("actor")
    if public_only:
        events = events.filter(kind__in=[k.value for k in PUBLIC_EVENT_KINDS])
    return list(events.order_by("at", "id"))


def case_draft_get(*, requester: User, procedure: Any) -> CaseDraft | None:
    return (CaseDraft.objects.filter(requester=requester, procedure=procedure,
                                     expires_at__gt=timezone.now()).first())


# --- the back-office list ---------------------------------------------------------------

@dataclass
class CasePage:
    items: list[Case]
    next_cursor: str | None
    filters: dict[str, Any] = field(default_factory=dict)

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None


LIST_FILTERS = ("state", "procedure", "channel", "sla", "assignee", "queue", "q", "escalated")


def encode_cursor(case: Case) -> str:
    raw = f"{case.created_at.isoformat()}|{case.pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, pk = base64.urlsafe_b64decode(padded.encode()).decode().split("|")
        moment = parse_datetime(created)
        if moment is None:
            raise ValueError(created)
        return moment, int(pk)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise ValidationFailed(_("This page link is not valid."),
                               details={"after": [_("This page link is not valid.")]}) from None


def _invalid(name: str) -> ValidationFailed:
    message = _("This value is not valid.")
    return ValidationFailed(message, details={name: [message]})


def _apply_filters(qs: QuerySet[Case], user: User, filters: Mapping[str, Any]) -> QuerySet[Case]:
    value = (filters.get("state") or "")
    if value:
        states = value if isinstance(value, list | tuple) else str(value).split(",")
        if value == "open":
            qs = qs.exclude(state__in=[s.value for s in FINAL_STATES])
        else:
            if not set(states) <= set(CaseState.values):
                raise _invalid("state")
            qs = qs.filter(state__in=states)
    if value := filters.get("procedure"):
        qs = qs.filter(procedure__code=str(value))
    if value := filters.get("channel"):
        if value not in Channel.values:
            raise _invalid("channel")
        qs = qs.filter(channel=value)
    if value := filters.get("sla"):
        now = timezone.now()
        # a case waiting for the citizen has its clock paused: neither near nor overdue
        open_states = [s.value for s in CaseState
                       if s not in FINAL_STATES and s != CaseState.AWAITING_CITIZEN]
        if value == "overdue":
            qs = qs.filter(state__in=open_states, sla_due_at__lt=now)
        elif value == "near":
            qs = qs.filter(state__in=open_states, sla_due_at__gte=now,
                           sla_due_at__lte=sla.near_cutoff(now))
        else:
            raise _invalid("sla")
    if value := filters.get("assignee"):
        if value == "me":
            qs = qs.filter(assignee=user)
        elif value == "none":
            qs = qs.filter(assignee__isnull=True)
        elif str(value).isdigit():
            qs = qs.filter(assignee_id=int(value))
        else:
            raise _invalid("assignee")
    if value := filters.get("queue"):
        qs = qs.filter(queue_id=int(value)) if str(value).isdigit() else \
            qs.filter(queue__code=str(value))
    if filters.get("escalated") in (True, "1", "true", "yes"):
        qs = qs.filter(escalated=True)
    if value := str(filters.get("q") or "").strip()[:100]:
        if value.upper().startswith("BXL-"):
            qs = qs.filter(reference__startswith=value.upper())
        else:
            qs = qs.filter(Q(person__last_name__istartswith=value)
                           | Q(person__first_names__istartswith=value)
                           | Q(reference__endswith=value))
    return qs


# What a row of the list shows: everything else (the form data above all, and the
# procedure's schemas) stays in the database.
LIST_FIELDS = ("id", "reference", "procedure_id", "person_id", "requester_id", "channel",
               "state", "queue_id", "assignee_id", "escalated", "sla_due_at", "sla_status",
               "sla_paused_at", "created_at",
               "procedure__code", "procedure__name_fr", "procedure__name_nl",
               "procedure__name_en", "procedure__name_de",
               "person__first_names", "person__last_name",
               "queue__code", "queue__name", "queue__department",
               "assignee__username", "assignee__first_name", "assignee__last_name")


def case_list_page(*, user: User, filters: Mapping[str, Any] | None = None,
                   after: str | None = None, limit: int = 50,
                   queue_ids: list[int] | None = None) -> CasePage:
    """One page of the back-office list, newest first, with keyset pagination on
    (created_at, id): page 100 costs what page 1 does, and nothing counts the whole table.
    One query when the caller gives the user's `queue_ids` (the page, related rows joined,
    only the columns a row shows), else two."""
    filters = {k: v for k, v in (filters or {}).items() if k in LIST_FILTERS and v not in
               ("", None)}
    try:
        limit = max(1, min(int(limit), 200))
    except (TypeError, ValueError):
        raise _invalid("limit") from None
    qs = _apply_filters(cases_visible_to(user, queue_ids=queue_ids), user, filters)
    if after:
        created, pk = decode_cursor(after)
        # A row comparison is one index condition: the scan starts at the cursor (an OR of
        # the two columns would be a filter over every row before it).
        qs = qs.filter(RawSQL("(crm_case.created_at, crm_case.id) < (%s, %s)",
                              (connection.ops.adapt_datetimefield_value(created), pk),
                              output_field=BooleanField()))
    rows = list(qs.select_related("procedure", "person", "assignee", "queue")
                .only(*LIST_FIELDS).order_by("-created_at", "-id")[:limit + 1])
    next_cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return CasePage(items=rows[:limit], next_cursor=next_cursor, filters=filters)
