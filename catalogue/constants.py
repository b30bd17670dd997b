from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    WEB = "web", _("web portal")
    MOBILE = "mobile", _("mobile app")
    KIOSK = "kiosk", _("self-service terminal")
    COUNTER = "counter", _("counter")


class Category(models.TextChoices):
    POPULATION = "population", _("Population certificates")
    CIVIL_STATUS = "civil_status", _("Civil status extracts")
    JUSTICE = "justice", _("Justice")
    EID = "eid", _("Identity card")
    PUBLIC_SPACE = "public_space", _("Public space")
    PERMITS = "permits", _("Permits and cards")
    APPOINTMENTS = "appointments", _("Appointments")
    ACCESS = "access", _("Digital access")


class Department(models.TextChoices):
    """The city department whose queue receives a procedure's cases."""

    DEMOGRAPHY = "demography", _("Demography")
    CIVIL_STATUS = "civil_status", _("Civil status")
    CLEANLINESS = "cleanliness", _("Public cleanliness")
    PUBLIC_SPACE = "public_space", _("Public space and green areas")
    ECONOMY = "economy", _("Economic affairs")
    MOBILITY = "mobility", _("Mobility")
    ID_DOCUMENTS = "id_documents", _("Identity documents")


class WorkflowKind(models.TextChoices):
    INSTANT = "instant", _("instant")
    AGENT_REVIEW = "agent_review", _("reviewed by an agent")
    INTERVENTION = "intervention", _("field intervention")
    PERMIT = "permit", _("permit")
    POSTAL = "postal", _("sent by post")


class Delivery(models.TextChoices):
    SIGNED_PDF = "signed_pdf", _("signed PDF document")
    LETTER = "letter", _("letter by post")
    VISIT = "visit", _("visit of a field team")
    APPOINTMENT = "appointment", _("appointment at a counter")
