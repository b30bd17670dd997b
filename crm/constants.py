from django.db import models
from django.utils.translation import gettext_lazy as _

# Staff group names are owned by identity; re-exported for the crm modules that use them.
from identity.constants import GROUP_CASE_AGENT as GROUP_CASE_AGENT
from identity.constants import GROUP_CASE_SUPERVISOR as GROUP_CASE_SUPERVISOR
from identity.constants import GROUP_COUNTER_AGENT as GROUP_COUNTER_AGENT


class EventKind(models.TextChoices):
    CREATED = "created", _("request submitted")
    TRANSITION = "transition", _("state changed")
    CLAIMED = "claimed", _("taken by an agent")
    ASSIGNED = "assigned", _("assigned")
    ESCALATED = "escalated", _("escalated to a supervisor")
    NOTE = "note", _("internal note")
    MESSAGE = "message", _("message")
    PAYMENT = "payment", _("payment received")
    DOCUMENT = "document", _("document issued")
    SLA_NEAR = "sla_near", _("deadline approaching")
    SLA_OVERDUE = "sla_overdue", _("deadline passed")
    SLA_EXTENDED = "sla_extended", _("deadline moved (time waiting for the citizen)")


# Events the citizen sees on their timeline; the others (notes, assignments, SLA) are internal.
PUBLIC_EVENT_KINDS = frozenset({EventKind.CREATED, EventKind.TRANSITION, EventKind.MESSAGE,
                                EventKind.PAYMENT, EventKind.DOCUMENT})


class MessageDirection(models.TextChoices):
    TO_CITIZEN = "to_citizen", _("to the citizen")
    FROM_CITIZEN = "from_citizen", _("from the citizen")


class SlaStatus(models.TextChoices):
    ON_TIME = "", _("on time")
    NEAR = "near", _("due soon")
    OVERDUE = "overdue", _("overdue")


class Topic(models.TextChoices):
    """Outbox topics: one side effect each, handed by the relay to one Celery task."""

    CASE_NOTIFY = "case.notify", _("e-mail to the citizen")
    DOCUMENT_ISSUE = "document.issue", _("issue the sealed document")
    SEARCH_INDEX = "search.index", _("update the search index")
    STAFF_NOTIFY = "staff.notify", _("e-mail to a supervisor")


class StaffNotification(models.TextChoices):
    """The e-mails the supervisors of a department receive about a case."""

    OVERDUE = "overdue", _("deadline passed")
    ESCALATED = "escalated", _("escalated to a supervisor")


class Notification(models.TextChoices):
    """The e-mails a citizen receives about a case (templates in templates/crm/email/)."""

    SUBMITTED = "submitted", _("request received")
    AWAITING_PAYMENT = "awaiting_payment", _("payment needed")
    INFORMATION_REQUESTED = "information_requested", _("information requested")
    MESSAGE = "message", _("new message")
    APPROVED = "approved", _("request approved")
    REJECTED = "rejected", _("request rejected")
    ISSUED = "issued", _("document ready")
    CANCELLED = "cancelled", _("request cancelled")
    CLOSED = "closed", _("request closed")

