"""The CIRM: cases, their timeline, queues, attachments, notes, messages, drafts, outbox."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from wagtail.search import index

from catalogue.constants import Channel, Department
from crm.constants import EventKind, MessageDirection, SlaStatus
from crm.workflow import FINAL_STATES, CaseState

OPEN_Q = ~Q(state__in=sorted(s.value for s in FINAL_STATES))


class Queue(models.Model):
    """A work queue of one department. Cases are routed by the procedure's department; agents
    (members) claim from it, supervisors see every queue of their department."""

    code = models.SlugField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    department = models.CharField(_("department"), max_length=32, choices=Department.choices,
                                  db_index=True)
    is_default = models.BooleanField(
        _("default queue of the department"), default=True,
        help_text=_("New requests of the department are routed to its default queue."))
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True,
                                     related_name="crm_queues", verbose_name=_("agents"))
    supervisors = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True,
                                         related_name="crm_supervised_queues",
                                         verbose_name=_("supervisors"))

    class Meta:
        verbose_name = _("queue")
        verbose_name_plural = _("queues")
        ordering = ["department", "code"]

    def __str__(self) -> str:
        return self.name


class CaseQuerySet(models.QuerySet):
    def open(self) -> CaseQuerySet:
        return self.filter(OPEN_Q)


class Case(index.Indexed, models.Model):
    """One request of a citizen, from any channel, worked in the back office.

    Indexed for the back-office search by crm.tasks.case_index (through the outbox), never
    synchronously on save, so intake does not wait on the search backend."""

    reference = models.CharField(_("reference"), max_length=32, unique=True)
    procedure = models.ForeignKey("catalogue.Procedure", on_delete=models.PROTECT,
                                  related_name="cases", verbose_name=_("procedure"))
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="crm_cases",
                                  verbose_name=_("citizen account"))
    person = models.ForeignKey("identity.Person", on_delete=models.PROTECT,
                               related_name="crm_cases", verbose_name=_("person"))
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    data = models.JSONField(_("form data"), default=dict, blank=True)
    state = models.CharField(_("state"), max_length=32, choices=CaseState.choices,
                             default=CaseState.SUBMITTED)
    queue = models.ForeignKey(Queue, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="cases", verbose_name=_("queue"))
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="crm_assigned_cases",
                                 verbose_name=_("assigned agent"))
    escalated = models.BooleanField(_("escalated"), default=False)
    fee_cents = models.PositiveIntegerField(_("fee (cents)"), default=0)
    payment_reference = models.CharField(_("payment reference"), max_length=100, blank=True)
    document_reference = models.CharField(_("document reference"), max_length=100, blank=True)
    sla_due_at = models.DateTimeField(_("due by"), null=True, blank=True)
    sla_status = models.CharField(_("deadline"), max_length=16, choices=SlaStatus.choices,
                                  default=SlaStatus.ON_TIME, blank=True)
    # Set while the case waits for the citizen: the SLA clock is stopped from this moment,
    # and the deadline moves by the working days spent waiting when the case resumes.
    sla_paused_at = models.DateTimeField(_("deadline paused since"), null=True, blank=True)
    created_at = models.DateTimeField(_("submitted at"), db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("submitted by (counter agent)"))

    objects = CaseQuerySet.as_manager()

    # Indexed through the outbox (search.index topic), not on every save.
    search_auto_update = False
    search_fields = [
        index.SearchField("reference", boost=5),
        index.AutocompleteField("reference"),
        index.RelatedFields("person", [index.SearchField("last_name"),
                                       index.SearchField("first_names"),
                                       index.AutocompleteField("last_name")]),
        index.FilterField("queue_id"),
        index.FilterField("state"),
        index.FilterField("requester_id"),
        index.FilterField("person_id"),
    ]

    class Meta:
        verbose_name = _("request")
        verbose_name_plural = _("requests")
        ordering = ["-created_at", "-id"]
        indexes = [
            # back-office list per queue, keyset on (created_at, id)
            models.Index(fields=["queue", "state", "created_at", "id"], name="crm_case_q_st_cr"),
            models.Index(fields=["queue", "created_at", "id"], name="crm_case_q_cr"),
            models.Index(fields=["created_at", "id"], name="crm_case_cr_id"),
            models.Index(fields=["assignee", "state"], name="crm_case_assignee"),
            # "my requests"
            models.Index(fields=["person", "created_at"], name="crm_case_person"),
            models.Index(fields=["requester", "created_at"], name="crm_case_requester"),
            # duplicate check and SLA watch on open cases only
            models.Index(fields=["person", "procedure"], condition=OPEN_Q,
                         name="crm_case_open_dup"),
            models.Index(fields=["sla_due_at"], condition=OPEN_Q, name="crm_case_open_sla"),
            # statistics by month
            models.Index(fields=["procedure", "channel", "created_at"], name="crm_case_stats"),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_open(self) -> bool:
        return self.state not in FINAL_STATES

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES


class CaseReferenceCounter(models.Model):
    """Last reference number per year, for databases without sequences (SQLite).
    On PostgreSQL a sequence per year is used instead, so submits never queue on one row."""

    year = models.PositiveIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class CaseEvent(models.Model):
    """One line of the case timeline: who did what, when, through which channel."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+",
                              verbose_name=_("by"))
    at = models.DateTimeField(_("at"))
    channel = models.CharField(_("channel"), max_length=16, blank=True)
    kind = models.CharField(_("kind"), max_length=32, choices=EventKind.choices)
    from_state = models.CharField(_("from"), max_length=32, blank=True)
    to_state = models.CharField(_("to"), max_length=32, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["case", "at"], name="crm_event_case_at")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} {self.from_state}->{self.to_state}"


def attachment_path(instance: CaseAttachment, filename: str) -> str:
    # Never the citizen's file name on disk: it is kept in original_name only.
    return f"crm/attachments/{uuid.uuid4().hex}"


class CaseAttachment(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments")
    message = models.ForeignKey("CaseMessage", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="attachments")
    code = models.CharField(_("kind"), max_length=64)
    file = models.FileField(_("file"), upload_to=attachment_path, max_length=255)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(max_length=64)
    original_name = models.CharField(_("file name"), max_length=255)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.original_name


class CaseNote(models.Model):
    """An internal note of the back office; never shown to the citizen."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                               related_name="+")
    body = models.TextField(_("note"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("internal note")
        verbose_name_plural = _("internal notes")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.body[:50]


class CaseMessage(models.Model):
    """A message between the back office and the citizen, shown on the citizen's case page."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="messages")
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                               related_name="+")
    direction = models.CharField(_("direction"), max_length=16,
                                 choices=MessageDirection.choices)
    body = models.TextField(_("message"))
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.body[:50]


class CaseDraft(models.Model):
    """A form the citizen has started and not submitted yet; expires after inactivity."""

    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                  related_name="crm_drafts")
    procedure = models.ForeignKey("catalogue.Procedure", on_delete=models.CASCADE,
                                  related_name="+")
    data = models.JSONField(default=dict, blank=True)
    step = models.PositiveSmallIntegerField(default=0)
    updated_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("draft")
        verbose_name_plural = _("drafts")
        constraints = [models.UniqueConstraint(fields=["requester", "procedure"],
                                               name="crm_draft_one_per_procedure")]

    def __str__(self) -> str:
        return f"{self.requester_id}/{self.procedure_id}"


class OutboxMessage(models.Model):
    """A side effect decided in a transaction, carried out after it by a Celery task.

    Written in the same transaction as the change that caused it, so it exists if and only
    if that change was committed. Right after that commit one broker message names the rows;
    the worker runs each row's handler and stamps `processed_at` under a row lock, so a
    duplicated or retried message does the work once. Beat publishes again the rows still
    unprocessed after a grace period and stamps `dispatched_at` (see crm.outbox).
    """

    topic = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    dedup_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        # Beat looks for the unprocessed rows only: a small part of a large table. The relay
        # process, for those not published yet: fewer still, whatever the workers' backlog.
        indexes = [models.Index(fields=["created_at"], condition=Q(processed_at__isnull=True),
                                name="crm_outbox_unprocessed"),
                   models.Index(fields=["created_at", "id"],
                                condition=Q(processed_at__isnull=True,
                                            dispatched_at__isnull=True),
                                name="crm_outbox_unpublished")]

    def __str__(self) -> str:
        return f"{self.topic} {self.dedup_key}"
