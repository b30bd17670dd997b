"""Writes of the CIRM. Every channel submits through `case_submit`; every change of state
goes through `_transition`, which reads the table in crm/workflow.py, locks the case row,
appends a CaseEvent and writes the outbox rows of its side effects in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import filetype
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from catalogue.constants import Channel, Delivery, WorkflowKind
from catalogue.forms_schema import validate_form_data
from catalogue.models import Procedure
from core.db import prepared_cursor
from core.errors import Conflict, NotAllowed, ValidationFailed
from crm import selectors, sla
from crm.constants import (
    EventKind,
    MessageDirection,
    Notification,
    SlaStatus,
    StaffNotification,
    Topic,
)
from crm.errors import (
    AssuranceTooLow,
    ChannelNotOffered,
    DuplicateOpenCase,
    NotAQueueMember,
    TransitionNotAllowed,
)
from crm.models import (
    Case,
    CaseAttachment,
    CaseDraft,
    CaseEvent,
    CaseMessage,
    CaseNote,
    CaseReferenceCounter,
    OutboxMessage,
    Queue,
)
from crm.outbox import outbox_write_many, publish_on_commit
from crm.workflow import FINAL_STATES, CaseState, Role, allowed_roles
from identity.constants import AssuranceLevel
from identity.models import Person, User

logger = logging.getLogger("crm")

DEFAULT_CONTENT_TYPES = ("application/pdf", "image/jpeg", "image/png")


# --- attachments ------------------------------------------------------------------------

@dataclass
class _CheckedFile:
    code: str
    content: bytes
    content_type: str
    original_name: str
    sha256: str


def _max_bytes(spec: dict | None) -> int:
    ceiling = int(settings.CRM_ATTACHMENT_MAX_BYTES)
    if spec and spec.get("max_bytes"):
        return min(int(spec["max_bytes"]), ceiling)
    return ceiling


def _read_upload(upload: Any, limit: int) -> bytes | None:
    """The whole content of an upload, or None when it exceeds `limit` (read no further)."""
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        return None
    if hasattr(upload, "seek"):
        upload.seek(0)
    content = upload.read(limit + 1)
    return None if len(content) > limit else content


def _human_size(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB" if n >= 1024 * 1024 else f"{max(1, n // 1024)} kB"


def _check_file(code: str, upload: Any, spec: dict | None) -> tuple[_CheckedFile | None, str]:
    limit = _max_bytes(spec)
    content = _read_upload(upload, limit)
    if content is None:
        return None, _("The file is too large (at most %(size)s).") % {"size": _human_size(limit)}
    if not content:
        return None, _("The file is empty.")
    kind = filetype.guess(content)
    allowed = tuple((spec or {}).get("content_types") or DEFAULT_CONTENT_TYPES)
    if kind is None or kind.mime not in allowed:
        names = ", ".join(sorted({t.split("/")[-1].upper() for t in allowed}))
        return None, _("This type of file is not accepted. Accepted: %(types)s.") % {
            "types": names}
    name = str(getattr(upload, "name", "") or f"{code}.{kind.extension}").rsplit("/", 1)[-1]
    return _CheckedFile(code=code, content=content, content_type=kind.mime,
                        original_name=name[:255],
                        sha256=hashlib.sha256(content).hexdigest()), ""


def _check_attachments(procedure: Procedure,
                       attachments: Iterable[tuple[str, Any]]) -> tuple[list[_CheckedFile],
                                                                        dict[str, list[str]]]:
    specs = {item["code"]: item for item in (procedure.attachments or [])}
    errors: dict[str, list[str]] = {}
    checked: list[_CheckedFile] = []
    seen: set[str] = set()
    for code, upload in attachments:
        if code not in specs:
            errors.setdefault(code, []).append(_("This procedure takes no such attachment."))
            continue
        if code in seen:
            errors.setdefault(code, []).append(_("Send only one file for this attachment."))
            continue
        seen.add(code)
        item, error = _check_file(code, upload, specs[code])
        if error:
            errors.setdefault(code, []).append(error)
        elif item:
            checked.append(item)
    for code, spec in specs.items():
        if spec.get("required") and code not in seen and code not in errors:
            errors.setdefault(code, []).append(_("This document is required."))
    return checked, errors


class _StoredFiles:
    """Files written during a transaction; deleted again when the transaction fails."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def save(self, attachment: CaseAttachment, item: _CheckedFile) -> None:
        attachment.file.save(item.original_name, ContentFile(item.content), save=False)
        self.names.append(attachment.file.name)

    def delete_all(self) -> None:
        for name in self.names:
            try:
                default_storage.delete(name)
            except OSError:  # pragma: no cover - storage already gone
                logger.warning("could not delete orphan attachment %s", name)


def _store_attachments(case: Case, files: Sequence[_CheckedFile], stored: _StoredFiles, *,
                       uploaded_by: User | None, message: CaseMessage | None = None) -> None:
    rows = []
    for item in files:
        attachment = CaseAttachment(case=case, message=message, code=item.code,
                                    content_type=item.content_type, size=len(item.content),
                                    sha256=item.sha256, original_name=item.original_name,
                                    uploaded_by=uploaded_by)
        stored.save(attachment, item)
        rows.append(attachment)
    CaseAttachment.objects.bulk_create(rows)


# --- references and routing -------------------------------------------------------------

def _next_reference(year: int) -> str:
    """BXL-<year>-<6 digits>, unique under concurrency.

    PostgreSQL: one sequence per year (made on first use by crm_next_case_number, see
    migration 0003), so concurrent submits never wait on each other; a rolled back submit
    leaves a harmless gap. Elsewhere (SQLite, which serialises writers anyway): a counter
    row per year, locked for the transaction.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT crm_next_case_number(%s)", [year])
            number = cursor.fetchone()[0]
    else:
        CaseReferenceCounter.objects.get_or_create(year=year)
        CaseReferenceCounter.objects.filter(year=year).update(last=F("last") + 1)
        number = CaseReferenceCounter.objects.values_list("last", flat=True).get(year=year)
    return f"BXL-{year}-{number:06d}"


def queue_for(procedure: Procedure) -> Queue:
    """The default queue of the procedure's department; created when the department has
    none yet, so a new catalogue entry never blocks intake."""
    queue = (Queue.objects.filter(department=procedure.department)
             .order_by("-is_default", "id").first())
    if queue is None:
        queue, _created = Queue.objects.get_or_create(
            code=procedure.department,
            defaults={"name": procedure.get_department_display(),
                      "department": procedure.department})
    return queue


# --- events, notifications, transitions ------------------------------------------------

def _event(case: Case, *, kind: str, actor: User | None, channel: str = "",
           from_state: str = "", to_state: str = "", note: str = "",
           at: dt.datetime | None = None) -> CaseEvent:
    return CaseEvent(case=case, kind=kind, actor=actor, at=at or timezone.now(),
                     channel=channel, from_state=from_state, to_state=to_state, note=note)


def _notify_item(case: Case, kind: str, key: str, **extra: Any) -> tuple[str, dict, str]:
    return (Topic.CASE_NOTIFY, {"case_id": case.pk, "kind": kind, **extra},
            f"case.notify:{case.pk}:{kind}:{key}")


def _index_item(case: Case, key: str) -> tuple[str, dict, str]:
    return (Topic.SEARCH_INDEX, {"case_id": case.pk}, f"search.index:{case.pk}:{key}")


def _supervisor_items(cases: Sequence[tuple[int, str, int]], kind: str, *, note: str = "",
                      exclude: User | None = None) -> list[tuple[str, dict, str]]:
    """One e-mail per supervisor of the case's department for each (case id, department,
    event id), keyed by case, event and supervisor: a rerun writes nothing new. Supervisors
    without an e-mail address, inactive ones and `exclude` (who caused it) get none."""
    departments = {department for _id, department, _event in cases}
    if not departments:
        return []
    rows = (Queue.supervisors.through.objects
            .filter(queue__department__in=departments, user__is_active=True)
            .exclude(user__email="").values_list("queue__department", "user_id").distinct())
    supervisors: dict[str, set[int]] = {}
    for department, user_id in rows:
        if exclude is None or user_id != exclude.pk:
            supervisors.setdefault(department, set()).add(user_id)
    return [(Topic.STAFF_NOTIFY,
             {"case_id": case_id, "kind": kind, "user_id": user_id, "event_id": event_id,
              "note": note},
             f"staff.notify:{case_id}:{kind}:event{event_id}:user{user_id}")
            for case_id, department, event_id in cases
            for user_id in sorted(supervisors.get(department, ()))]


def _department(case: Case) -> str:
    return case.queue.department if case.queue_id else case.procedure.department


def _document_item(case: Case) -> tuple[str, dict, str]:
    return (Topic.DOCUMENT_ISSUE, {"case_id": case.pk}, f"document.issue:{case.pk}")


def _issues_document(procedure: Procedure) -> bool:
    return procedure.delivery == Delivery.SIGNED_PDF


# Which e-mail a citizen gets when the case enters a state (None: no e-mail).
_STATE_NOTIFICATIONS: dict[str, str] = {
    CaseState.APPROVED: Notification.APPROVED,
    CaseState.REJECTED: Notification.REJECTED,
    CaseState.ISSUED: Notification.ISSUED,
    CaseState.CANCELLED: Notification.CANCELLED,
    # a letter posted or a field visit done; a sealed document closes without a second mail
    CaseState.CLOSED: Notification.CLOSED,
}


def _lock(case: Case) -> Case:
    locked = (Case.objects.select_for_update(of=("self",))
              .select_related("procedure", "queue").get(pk=case.pk))
    return locked


def _transition(case: Case, to_state: str, *, actor: User | None, role: Role,
                channel: str | None = None, note: str = "", notify: bool = True,
                extra_outbox: Sequence[tuple[str, dict, str]] = ()) -> CaseEvent:
    """Move a locked case to `to_state` as `role`; the one place state changes."""
    from_state = case.state
    if role not in allowed_roles(from_state, to_state):
        raise TransitionNotAllowed()
    now = timezone.now()
    case.state = to_state
    extension = None
    if to_state == CaseState.AWAITING_CITIZEN:
        case.sla_paused_at = now  # the SLA clock stops while the citizen has the case
    elif from_state == CaseState.AWAITING_CITIZEN:
        extension = _sla_resume(case, now, final=to_state in FINAL_STATES)
    if to_state in FINAL_STATES:
        case.closed_at = now
        case.sla_status = ""
    case.save(update_fields=["state", "closed_at", "sla_status", "sla_due_at", "sla_paused_at",
                             "updated_at"])
    event = _event(case, kind=EventKind.TRANSITION, actor=actor, channel=channel or "",
                   from_state=from_state, to_state=to_state, note=note, at=now)
    event.save()
    if extension is not None:
        extension.save()  # after the transition, so the timeline reads in order
    items = [_index_item(case, f"event{event.pk}"), *extra_outbox]
    kind = _STATE_NOTIFICATIONS.get(to_state)
    if notify and kind:
        items.append(_notify_item(case, kind, f"event{event.pk}", note=note))
    outbox_write_many(items)
    logger.info("case %s: %s -> %s by %s", case.reference, from_state, to_state, role)
    return event


_SLA_RANK = {SlaStatus.ON_TIME: 0, SlaStatus.NEAR: 1, SlaStatus.OVERDUE: 2}


def _sla_resume(case: Case, now: dt.datetime, *, final: bool) -> CaseEvent | None:
    """Restart the SLA clock of a case leaving awaiting_citizen: the deadline moves by the
    working days spent waiting (crm.sla.extend_for_pause). Returns the timeline event that
    records the move (unsaved), or None when the deadline did not move. A flag the new
    deadline no longer deserves is lowered; a higher one is left to the SLA watch, which
    raises it with its own event."""
    paused_at, case.sla_paused_at = case.sla_paused_at, None
    if final or paused_at is None or case.sla_due_at is None:
        return None
    due, days = sla.extend_for_pause(case.sla_due_at, paused_at, now)
    if not days:
        return None
    case.sla_due_at = due
    current = sla.status_at(due, now)
    if _SLA_RANK[SlaStatus(current)] < _SLA_RANK[SlaStatus(case.sla_status)]:
        case.sla_status = current
    note = ngettext(
        "Deadline moved by %(days)s working day, to %(date)s: the time waiting for the "
        "citizen does not count.",
        "Deadline moved by %(days)s working days, to %(date)s: the time waiting for the "
        "citizen does not count.", days) % {
        "days": days, "date": date_format(timezone.localtime(due, sla.TZ).date(),
                                          "SHORT_DATE_FORMAT")}
    return _event(case, kind=EventKind.SLA_EXTENDED, actor=None, note=note, at=now)


def _role_for(case: Case, actor: User | None) -> Role:
    """The strongest role `actor` holds on `case` for a state change."""
    if actor is None:
        return Role.SYSTEM
    roles = selectors.roles_on_case(actor, case)
    for role in (Role.SUPERVISOR, Role.AGENT, Role.CITIZEN):
        if role in roles:
            return role
    raise NotAllowed(_("You may not act on this request."))


@transaction.atomic
def case_transition(*, case: Case, to_state: str, actor: User | None,
                    channel: str | None = None, note: str = "") -> Case:
    """Any allowed change of state by `actor` (None: the platform itself)."""
    case = _lock(case)
    try:
        target = CaseState(to_state)
    except ValueError:
        raise ValidationFailed(_("Unknown state."), details={"to_state": [_("Unknown state.")]}
                               ) from None
    role = _role_for(case, actor)
    allowed = allowed_roles(case.state, target)
    if role not in allowed:
        # a supervisor may also act as an agent; a staff member who is the citizen too
        roles = selectors.roles_on_case(actor, case) if actor else {Role.SYSTEM}
        usable = [r for r in roles if r in allowed]
        if not usable:
            raise TransitionNotAllowed()
        role = usable[0]
    _transition(case, target, actor=actor, role=role, channel=channel, note=note)
    return case


# --- intake -----------------------------------------------------------------------------

def _check_channel(procedure: Procedure, channel: str) -> str:
    try:
        channel = Channel(channel).value
    except ValueError:
        raise ChannelNotOffered() from None
    if not procedure.active or not procedure.offers(channel):
        raise ChannelNotOffered()
    return channel


def _check_identity(*, procedure: Procedure, requester: User | None, person: Person | None,
                    channel: str, acting_agent: User | None,
                    assurance_level: int | None) -> Person:
    if acting_agent is not None:
        if not selectors.is_counter_agent(acting_agent):
            raise NotAllowed(_("Only counter agents may submit a request on behalf of a "
                               "citizen."))
    elif channel == Channel.COUNTER:
        raise NotAllowed(_("A request at the counter is submitted by a counter agent."))
    else:
        level = AssuranceLevel.NONE if assurance_level is None else int(assurance_level)
        if level < procedure.required_assurance_level:
            raise AssuranceTooLow()
    if person is None:
        person = requester.person if requester is not None else None
    elif (requester is not None and acting_agent is None
          and requester.person_id != person.pk):
        raise NotAllowed(_("You may only submit requests for yourself."))
    if person is None:
        raise NotAllowed(_("Your account is not linked to an entry of the population "
                           "register; please contact the counter."))
    if person.deceased:
        raise NotAllowed(_("This person is registered as deceased."))
    return person


def case_submit(*, procedure: Procedure, requester: User | None, channel: str,
                data: dict[str, Any] | None, attachments: Iterable[tuple[str, Any]] = (),
                acting_agent: User | None = None, language: str | None = None,
                assurance_level: int | None = None, person: Person | None = None) -> Case:
    """Create a case from any channel.

    `assurance_level` is the level of the citizen's login (web, mobile, kiosk); at the
    counter an `acting_agent` has checked the identity document instead, and may give the
    `person` found in the register when the citizen has no account (`requester` None).
    Everything is checked before anything is written; stored files are removed again if
    the transaction fails, so a refused or failed submit leaves nothing behind. The draft of
    the form, if any, is the caller's to discard (services.case_draft_discard).
    """
    channel = _check_channel(procedure, channel)
    person = _check_identity(procedure=procedure, requester=requester, person=person,
                             channel=channel, acting_agent=acting_agent,
                             assurance_level=assurance_level)
    data = data if data is not None else {}
    errors = validate_form_data(procedure.form_schema, data)
    files, file_errors = _check_attachments(procedure, attachments)
    for code, messages in file_errors.items():
        errors.setdefault(code, []).extend(messages)
    if errors:
        raise ValidationFailed(_("Please correct the errors below."), details=errors)
    lang = language or (requester.preferred_language if requester else None) \
        or translation.get_language() or settings.LANGUAGE_CODE
    lang = lang.split("-")[0]
    if lang not in settings.LANGUAGE_CODES:
        lang = settings.LANGUAGE_CODE
    stored = _StoredFiles()
    try:
        return _case_create(procedure=procedure, requester=requester, person=person,
                            channel=channel, data=data, files=files, language=lang,
                            acting_agent=acting_agent, stored=stored)
    except BaseException:
        stored.delete_all()
        raise


def _case_create(*, procedure: Procedure, requester: User | None, person: Person,
                 channel: str, data: dict, files: Sequence[_CheckedFile], language: str,
                 acting_agent: User | None, stored: _StoredFiles) -> Case:
    """Write the case, its first events and its outbox rows in one transaction.

    On PostgreSQL, without attachments, that is one statement (see _INSERT_CASE_SQL): a
    statement is a transaction of its own, so without a duplicate check there is not even
    a BEGIN and COMMIT to send. Intake is the busiest write of the platform and its cost is
    the round trips to the database, not the work done there."""
    one_statement = connection.vendor == "postgresql" and not files
    if one_statement and not procedure.one_open_case_per_person:
        return _case_insert(procedure=procedure, requester=requester, person=person,
                            channel=channel, data=data, language=language,
                            acting_agent=acting_agent)
    with transaction.atomic():
        if procedure.one_open_case_per_person:
            # Serialise the submits of one person so two concurrent ones cannot both pass.
            Person.objects.select_for_update().filter(pk=person.pk).values_list("pk").first()
            if Case.objects.open().filter(person=person, procedure=procedure).exists():
                raise DuplicateOpenCase()
        if one_statement:
            return _case_insert(procedure=procedure, requester=requester, person=person,
                                channel=channel, data=data, language=language,
                                acting_agent=acting_agent)
        now = timezone.now()
        state = _initial_state(procedure, channel)
        case = Case.objects.create(
            reference=_next_reference(timezone.localtime(now).year), procedure=procedure,
            requester=requester, person=person, channel=channel, language=language,
            data=data, state=state, queue=queue_for(procedure),
            fee_cents=procedure.fee_for(channel), created_at=now,
            sla_due_at=sla.due_at(now, procedure.sla_days), created_by=acting_agent)
        actor = acting_agent or requester
        CaseEvent.objects.bulk_create(_first_events(case, actor=actor, channel=channel,
                                                    state=state, at=now))
        _store_attachments(case, files, stored, uploaded_by=actor)
        outbox_write_many(_first_outbox_items(case, procedure, state))
    # The caller discards the citizen's draft of this form (crm.views does), not the intake:
    # most channels have none, and asking costs every submit a query.
    logger.info("case %s submitted on %s: %s", case.reference, channel, state)
    return case


def _initial_state(procedure: Procedure, channel: str) -> CaseState:
    if procedure.fee_for(channel) > 0:
        return CaseState.AWAITING_PAYMENT
    if procedure.workflow_kind == WorkflowKind.INSTANT:
        return CaseState.APPROVED
    return CaseState.IN_PROGRESS


def _first_events(case: Case, *, actor: User | None, channel: str, state: str,
                  at: dt.datetime) -> list[CaseEvent]:
    return [
        _event(case, kind=EventKind.CREATED, actor=actor, channel=channel,
               to_state=CaseState.SUBMITTED, at=at),
        _event(case, kind=EventKind.TRANSITION, actor=None, channel=channel,
               from_state=CaseState.SUBMITTED, to_state=state, at=at),
    ]


def _first_outbox_items(case: Any, procedure: Procedure,
                        state: str) -> list[tuple[str, dict, str]]:
    items = [_notify_item(case, Notification.SUBMITTED, "created"),
             _index_item(case, "created")]
    if state == CaseState.APPROVED and _issues_document(procedure):
        items.append(_document_item(case))
    return items


# Departments known to have a queue: the insert picks the default queue in SQL, and only a
# department seen for the first time goes through queue_for (which may create it).
_departments_with_queue: set[str] = set()

_CASE_ID = "{case_id}"  # stands for the new case's id in the outbox items built before it
_NEW_CASE = SimpleNamespace(pk=_CASE_ID)

# The case, its two first events and its outbox rows in one statement (PostgreSQL), prepared
# once per connection (core.db.prepared_cursor: hence a cast on every value). The reference
# comes from crm_next_case_number (migration 0003) and the queue is the department's default
# one, as in _next_reference and queue_for.
_INSERT_CASE_SQL = """
WITH n AS (
    SELECT crm_next_case_number(%(year)s::int) AS n
), c AS (
    INSERT INTO crm_case (reference, procedure_id, requester_id, person_id, channel, language,
                          data, state, queue_id, assignee_id, escalated, fee_cents,
                          payment_reference, document_reference, sla_due_at, sla_status,
                          sla_paused_at, created_at, updated_at, closed_at, created_by_id)
    SELECT 'BXL-' || %(year)s::int || '-' || CASE WHEN n < 1000000 THEN lpad(n::text, 6, '0')
                                                  ELSE n::text END,
           %(procedure)s::bigint, %(requester)s::bigint, %(person)s::bigint,
           %(channel)s::text, %(language)s::text, %(data)s::jsonb, %(state)s::text,
           (SELECT id FROM crm_queue WHERE department = %(department)s::text
            ORDER BY is_default DESC, id LIMIT 1),
           NULL, false, %(fee)s::int, '', '', %(due)s::timestamptz, '', NULL,
           %(now)s::timestamptz, %(now)s::timestamptz, NULL, %(created_by)s::bigint
    FROM n
    RETURNING id, reference, queue_id
), e AS (
    INSERT INTO crm_caseevent (case_id, actor_id, at, channel, kind, from_state, to_state,
                               note)
    SELECT c.id, v.actor, %(now)s::timestamptz, %(channel)s::text, v.kind, v.from_state,
           v.to_state, ''
    FROM c, (VALUES (%(actor)s::bigint, %(created)s::text, '', %(submitted)s::text),
                    (NULL::bigint, %(transition)s::text, %(submitted)s::text, %(state)s::text))
            AS v(actor, kind, from_state, to_state)
), o AS (
    INSERT INTO crm_outboxmessage (topic, payload, dedup_key, created_at, dispatched_at,
                                   processed_at, attempts, last_error)
    SELECT v.topic, v.payload || jsonb_build_object('case_id', c.id),
           replace(v.dedup_key, %(case_id)s::text, c.id::text), %(now)s::timestamptz, NULL,
           NULL, 0, ''
    FROM c, jsonb_to_recordset(%(outbox)s::jsonb) AS v(topic text, payload jsonb,
                                                      dedup_key text)
    ON CONFLICT (dedup_key) DO NOTHING
)
SELECT id, reference, queue_id FROM c
"""


def _case_insert(*, procedure: Procedure, requester: User | None, person: Person,
                 channel: str, data: dict, language: str,
                 acting_agent: User | None) -> Case:
    if procedure.department not in _departments_with_queue:
        queue_for(procedure)
        _departments_with_queue.add(procedure.department)
    now = timezone.now()
    state = _initial_state(procedure, channel)
    actor = acting_agent or requester
    case = Case(procedure=procedure, requester=requester, person=person, channel=channel,
                language=language, data=data, state=state, fee_cents=procedure.fee_for(channel),
                created_at=now, updated_at=now, sla_due_at=sla.due_at(now, procedure.sla_days),
                created_by=acting_agent)
    items = _first_outbox_items(_NEW_CASE, procedure, state)
    with prepared_cursor() as cursor:
        cursor.execute(_INSERT_CASE_SQL, {
            "year": timezone.localtime(now).year, "procedure": procedure.pk,
            "requester": requester.pk if requester else None, "person": person.pk,
            "channel": channel, "language": language, "data": json.dumps(data),
            "state": str(state.value), "department": procedure.department,
            "fee": case.fee_cents,
            "due": case.sla_due_at, "now": now,
            "created_by": acting_agent.pk if acting_agent else None,
            "actor": actor.pk if actor else None, "created": EventKind.CREATED.value,
            "transition": EventKind.TRANSITION.value,
            "submitted": CaseState.SUBMITTED.value, "case_id": _CASE_ID,
            "outbox": json.dumps([{"topic": t, "payload": p, "dedup_key": k}
                                  for t, p, k in items])})
        case.pk, case.reference, case.queue_id = cursor.fetchone()
    case._state.adding = False
    case._state.db = connection.alias
    if case.queue_id is None:  # the department's queues went away since: make one again
        _departments_with_queue.discard(procedure.department)
        case.queue = queue_for(procedure)
        Case.objects.filter(pk=case.pk).update(queue=case.queue)
    if settings.CRM_OUTBOX_RELAY_ON_COMMIT:  # else the relay process publishes them
        publish_on_commit([OutboxMessage(topic=t, payload={**p, "case_id": case.pk},
                                         dedup_key=k.replace(_CASE_ID, str(case.pk)))
                           for t, p, k in items])
    logger.info("case %s submitted on %s: %s", case.reference, channel, state)
    return case


# --- payments and documents (called by the payments and signing apps) ------------------

@transaction.atomic
def case_payment_received(*, case: Case, payment_reference: str,
                          actor: User | None = None) -> Case:
    """The fee is settled: an instant procedure is approved (its document is issued), the
    others enter their queue with the SLA counted from now. Idempotent per reference."""
    case = _lock(case)
    if case.state != CaseState.AWAITING_PAYMENT:
        if case.payment_reference == payment_reference:
            return case
        raise TransitionNotAllowed(_("This request is not waiting for a payment."))
    now = timezone.now()
    case.payment_reference = payment_reference
    CaseEvent.objects.create(case=case, kind=EventKind.PAYMENT, actor=actor, at=now,
                             note=payment_reference)
    if case.procedure.workflow_kind == WorkflowKind.INSTANT:
        extra = [_document_item(case)] if _issues_document(case.procedure) else []
        case.save(update_fields=["payment_reference"])
        _transition(case, CaseState.APPROVED, actor=actor, role=Role.SYSTEM, notify=False,
                    extra_outbox=extra)
    else:
        case.sla_due_at = sla.due_at(now, case.procedure.sla_days)
        case.save(update_fields=["payment_reference", "sla_due_at"])
        _transition(case, CaseState.IN_PROGRESS, actor=actor, role=Role.SYSTEM)
    return case


@transaction.atomic
def case_document_issued(*, case: Case, document_reference: str,
                         actor: User | None = None) -> Case:
    """The sealed document is ready: the case is issued, the citizen notified, the case
    closed. Idempotent: a second call with the same reference changes nothing."""
    case = _lock(case)
    if case.state in (CaseState.ISSUED, CaseState.CLOSED) and \
            case.document_reference == document_reference:
        return case
    if case.state != CaseState.APPROVED:
        raise TransitionNotAllowed(_("This request is not waiting for a document."))
    case.document_reference = document_reference
    case.save(update_fields=["document_reference"])
    CaseEvent.objects.create(case=case, kind=EventKind.DOCUMENT, actor=actor,
                             at=timezone.now(), note=document_reference)
    _transition(case, CaseState.ISSUED, actor=actor, role=Role.SYSTEM)
    _transition(case, CaseState.CLOSED, actor=actor, role=Role.SYSTEM, notify=False)
    return case


# --- queues -----------------------------------------------------------------------------

def _require_member(queue: Queue | None, agent: User) -> None:
    if queue is None or not selectors.can_work_queue(agent, queue):
        raise NotAQueueMember()


def _require_handler(case: Case, agent: User) -> Role:
    """The agent assigned to the case, or a supervisor of its department."""
    roles = selectors.roles_on_case(agent, case)
    if Role.SUPERVISOR in roles:
        return Role.SUPERVISOR
    if Role.AGENT in roles and case.assignee_id == agent.pk:
        return Role.AGENT
    if Role.AGENT in roles:
        raise NotAllowed(_("Take this request first: it is not assigned to you."))
    raise NotAllowed(_("You may not act on this request."))


@transaction.atomic
def case_claim_next(*, queue: Queue, agent: User) -> Case | None:
    """Give `agent` the most urgent unassigned case of `queue`. Concurrent agents skip the
    rows another one is claiming (SKIP LOCKED), so a case never goes to two agents."""
    _require_member(queue, agent)
    case = (Case.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(queue=queue, state=CaseState.IN_PROGRESS, assignee__isnull=True)
            .order_by(F("sla_due_at").asc(nulls_last=True), "created_at", "id")
            .select_related("procedure", "queue").first())
    if case is None:
        return None
    case.assignee = agent
    case.save(update_fields=["assignee", "updated_at"])
    CaseEvent.objects.create(case=case, kind=EventKind.CLAIMED, actor=agent,
                             at=timezone.now())
    return case


@transaction.atomic
def case_claim(*, case: Case, agent: User) -> Case:
    case = _lock(case)
    _require_member(case.queue, agent)
    if case.is_final:
        raise TransitionNotAllowed(_("This request is closed."))
    if case.assignee_id == agent.pk:
        return case
    if case.assignee_id is not None:
        raise Conflict(_("Another agent has already taken this request."))
    case.assignee = agent
    case.save(update_fields=["assignee", "updated_at"])
    CaseEvent.objects.create(case=case, kind=EventKind.CLAIMED, actor=agent,
                             at=timezone.now())
    return case


@transaction.atomic
def case_assign(*, case: Case, agent: User | None, actor: User) -> Case:
    """Reassign (or release, with agent None). The assignee may hand over their own case;
    supervisors may reassign any case of their department."""
    case = _lock(case)
    roles = selectors.roles_on_case(actor, case)
    if Role.SUPERVISOR not in roles and not (
            Role.AGENT in roles and case.assignee_id in (None, actor.pk)):
        raise NotAllowed(_("Only the assigned agent or a supervisor may reassign this "
                           "request."))
    if case.is_final:
        raise TransitionNotAllowed(_("This request is closed."))
    if agent is not None:
        _require_member(case.queue, agent)
    case.assignee = agent
    case.save(update_fields=["assignee", "updated_at"])
    CaseEvent.objects.create(case=case, kind=EventKind.ASSIGNED, actor=actor,
                             at=timezone.now(),
                             note=agent.get_full_name() or agent.get_username() if agent
                             else "")
    return case


@transaction.atomic
def case_escalate(*, case: Case, actor: User, note: str) -> Case:
    """Hand a case to the department's supervisors (a hard case, a complaint, an overdue
    file): it shows as escalated in their list until one of them reassigns it."""
    case = _lock(case)
    roles = selectors.roles_on_case(actor, case)
    if not roles & {Role.AGENT, Role.SUPERVISOR}:
        raise NotAllowed(_("You may not act on this request."))
    if case.is_final:
        raise TransitionNotAllowed(_("This request is closed."))
    if not (note or "").strip():
        raise ValidationFailed(details={"note": [_("Say why the request is escalated.")]})
    case.escalated = True
    case.save(update_fields=["escalated", "updated_at"])
    event = CaseEvent.objects.create(case=case, kind=EventKind.ESCALATED, actor=actor,
                                     at=timezone.now(), note=note.strip())
    outbox_write_many(_supervisor_items([(case.pk, _department(case), event.pk)],
                                        StaffNotification.ESCALATED, note=note.strip(),
                                        exclude=actor))
    return case


# --- agent decisions --------------------------------------------------------------------

def _required_text(value: str, field: str, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationFailed(message, details={field: [message]})
    if len(value) > settings.CRM_MESSAGE_MAX_CHARS:
        too_long = _("Use at most %(n)s characters.") % {"n": settings.CRM_MESSAGE_MAX_CHARS}
        raise ValidationFailed(too_long, details={field: [too_long]})
    return value


@transaction.atomic
def case_request_information(*, case: Case, agent: User, message: str) -> Case:
    """Ask the citizen for more: the case waits for their answer (e-mailed to them)."""
    message = _required_text(message, "message", _("Write what the citizen must provide."))
    case = _lock(case)
    role = _require_handler(case, agent)
    msg = CaseMessage.objects.create(case=case, sender=agent, body=message,
                                     direction=MessageDirection.TO_CITIZEN)
    event = _transition(case, CaseState.AWAITING_CITIZEN, actor=agent, role=role, note="")
    outbox_write_many([_notify_item(case, Notification.INFORMATION_REQUESTED,
                                    f"event{event.pk}", message_id=msg.pk)])
    return case


@transaction.atomic
def case_citizen_reply(*, case: Case, citizen: User, body: str,
                       attachments: Iterable[tuple[str, Any]] = ()) -> CaseMessage:
    """The citizen writes to the back office; an answer to a request for information puts
    the case back in progress."""
    body = _required_text(body, "body", _("Write your message."))
    case = _lock(case)
    if Role.CITIZEN not in selectors.roles_on_case(citizen, case):
        raise NotAllowed(_("You may not act on this request."))
    if case.is_final:
        raise TransitionNotAllowed(_("This request is closed; it no longer takes messages."))
    files: list[_CheckedFile] = []
    errors: dict[str, list[str]] = {}
    for index, (code, upload) in enumerate(attachments):
        item, error = _check_file(code or f"reply{index}", upload, None)
        if error:
            errors.setdefault(code or "attachments", []).append(error)
        elif item:
            files.append(item)
    if errors:
        raise ValidationFailed(_("Please correct the errors below."), details=errors)
    msg = CaseMessage.objects.create(case=case, sender=citizen, body=body,
                                     direction=MessageDirection.FROM_CITIZEN)
    CaseEvent.objects.create(case=case, kind=EventKind.MESSAGE, actor=citizen,
                             at=timezone.now(), channel=Channel.WEB)
    stored = _StoredFiles()
    try:
        _store_attachments(case, files, stored, uploaded_by=citizen, message=msg)
        if case.state == CaseState.AWAITING_CITIZEN:
            _transition(case, CaseState.IN_PROGRESS, actor=citizen, role=Role.CITIZEN,
                        note=_("The citizen answered."))
    except BaseException:
        stored.delete_all()
        raise
    return msg


@transaction.atomic
def case_approve(*, case: Case, agent: User, note: str = "") -> Case:
    case = _lock(case)
    role = _require_handler(case, agent)
    extra = [_document_item(case)] if _issues_document(case.procedure) else []
    _transition(case, CaseState.APPROVED, actor=agent, role=role, note=note.strip(),
                extra_outbox=extra)
    return case


@transaction.atomic
def case_reject(*, case: Case, agent: User, reason: str) -> Case:
    reason = _required_text(reason, "reason", _("Give the reason of the refusal."))
    case = _lock(case)
    role = _require_handler(case, agent)
    _transition(case, CaseState.REJECTED, actor=agent, role=role, note=reason)
    return case


@transaction.atomic
def case_close(*, case: Case, actor: User, note: str = "") -> Case:
    """Close an approved case whose delivery is not a sealed document (letter, visit)."""
    case = _lock(case)
    role = _require_handler(case, actor)
    _transition(case, CaseState.CLOSED, actor=actor, role=role, note=note.strip())
    return case


@transaction.atomic
def case_cancel(*, case: Case, actor: User | None, reason: str) -> Case:
    """Withdrawn by the citizen, cancelled by the back office, or expired (actor None)."""
    reason = _required_text(reason, "reason", _("Give the reason of the cancellation."))
    case = _lock(case)
    role = _role_for(case, actor)
    if role not in allowed_roles(case.state, CaseState.CANCELLED):
        raise TransitionNotAllowed()
    _transition(case, CaseState.CANCELLED, actor=actor, role=role, note=reason)
    return case


# --- notes and messages -----------------------------------------------------------------

@transaction.atomic
def case_add_note(*, case: Case, author: User, body: str) -> CaseNote:
    body = _required_text(body, "body", _("Write the note."))
    if not selectors.roles_on_case(author, case) & {Role.AGENT, Role.SUPERVISOR}:
        raise NotAllowed(_("You may not act on this request."))
    note = CaseNote.objects.create(case=case, author=author, body=body)
    CaseEvent.objects.create(case=case, kind=EventKind.NOTE, actor=author, at=timezone.now())
    return note


@transaction.atomic
def case_send_message(*, case: Case, sender: User, body: str) -> CaseMessage:
    """A message from the back office to the citizen (e-mailed), or from the citizen (then
    the same as `case_citizen_reply`)."""
    roles = selectors.roles_on_case(sender, case)
    if not roles & {Role.AGENT, Role.SUPERVISOR}:
        if Role.CITIZEN in roles:
            return case_citizen_reply(case=case, citizen=sender, body=body)
        raise NotAllowed(_("You may not act on this request."))
    body = _required_text(body, "body", _("Write your message."))
    case = _lock(case)
    if case.is_final:
        raise TransitionNotAllowed(_("This request is closed; it no longer takes messages."))
    msg = CaseMessage.objects.create(case=case, sender=sender, body=body,
                                     direction=MessageDirection.TO_CITIZEN)
    event = CaseEvent.objects.create(case=case, kind=EventKind.MESSAGE, actor=sender,
                                     at=timezone.now())
    outbox_write_many([_notify_item(case, Notification.MESSAGE, f"event{event.pk}",
                                    message_id=msg.pk)])
    return msg


@transaction.atomic
def case_messages_mark_read(*, case: Case, reader: User) -> int:
    """Mark as read the messages addressed to `reader`'s side of the conversation."""
    roles = selectors.roles_on_case(reader, case)
    if Role.CITIZEN in roles:
        direction = MessageDirection.TO_CITIZEN
    elif roles & {Role.AGENT, Role.SUPERVISOR}:
        direction = MessageDirection.FROM_CITIZEN
    else:
        raise NotAllowed(_("You may not act on this request."))
    return CaseMessage.objects.filter(case=case, direction=direction,
                                      read_at__isnull=True).update(read_at=timezone.now())


# --- drafts -----------------------------------------------------------------------------

@transaction.atomic
def case_draft_save(*, requester: User, procedure: Procedure, data: dict[str, Any],
                    step: int = 0) -> CaseDraft:
    """Keep the citizen's unfinished form; it expires after CRM_DRAFT_TTL_DAYS without use."""
    if not isinstance(data, dict):
        raise ValidationFailed(details={"__all__": [_("The form data must be an object.")]})
    now = timezone.now()
    draft, _created = CaseDraft.objects.update_or_create(
        requester=requester, procedure=procedure,
        defaults={"data": data, "step": max(0, int(step)), "updated_at": now,
                  "expires_at": now + dt.timedelta(days=settings.CRM_DRAFT_TTL_DAYS)})
    return draft


@transaction.atomic
def case_draft_discard(*, requester: User, procedure: Procedure) -> None:
    CaseDraft.objects.filter(requester=requester, procedure=procedure).delete()


@transaction.atomic
def drafts_purge_expired(*, now: dt.datetime | None = None) -> int:
    deleted, _per_model = CaseDraft.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted


# --- SLA watch --------------------------------------------------------------------------

@transaction.atomic
def cases_flag_sla(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Flag open cases whose deadline is near (within CRM_SLA_NEAR_WORKING_DAYS) or past.
    Each flag writes one event, once: a case already flagged at that level is skipped. A
    case waiting for the citizen is skipped: its clock is paused. A case becoming overdue
    is e-mailed to the supervisors of its department, once per event (the outbox)."""
    from crm.workflow import WORK_STATES

    now = now or timezone.now()
    cutoff = sla.near_cutoff(now)
    work = sorted(s.value for s in WORK_STATES if s != CaseState.AWAITING_CITIZEN)
    running = (Case.objects.select_for_update(skip_locked=True, of=("self",))
               .filter(state__in=work, sla_paused_at__isnull=True)
               .select_related("queue", "procedure")
               .only("id", "sla_status", "queue__department", "procedure__department"))
    counts = {"near": 0, "overdue": 0}
    overdue = list(running.filter(sla_due_at__lt=now).exclude(sla_status=SlaStatus.OVERDUE))
    near = list(running.filter(sla_due_at__gte=now, sla_due_at__lte=cutoff,
                               sla_status=SlaStatus.ON_TIME))
    events: list[CaseEvent] = []
    for status, kind, cases in ((SlaStatus.OVERDUE, EventKind.SLA_OVERDUE, overdue),
                                (SlaStatus.NEAR, EventKind.SLA_NEAR, near)):
        if not cases:
            continue
        Case.objects.filter(pk__in=[c.pk for c in cases]).update(sla_status=status)
        events += [CaseEvent(case_id=c.pk, kind=kind, at=now) for c in cases]
        counts["overdue" if status == SlaStatus.OVERDUE else "near"] = len(cases)
    CaseEvent.objects.bulk_create(events)  # sets the ids (PostgreSQL, SQLite >= 3.35)
    departments = {c.pk: _department(c) for c in overdue}
    outbox_write_many(_supervisor_items(
        [(e.case_id, departments[e.case_id], e.pk) for e in events
         if e.kind == EventKind.SLA_OVERDUE], StaffNotification.OVERDUE))
    return counts
