from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

# The languages a terminal speaks: the portal's four. One list, so the OpenAPI schema names its
# enum once (LanguageEnum) however many fields use it.
LANGUAGE_CHOICES: list[str] = list(settings.LANGUAGE_CODES)


class Branch(models.TextChoices):
    """The places where the city runs self-service terminals (e-counter plan, seed 004)."""

    ADMINISTRATIVE_CENTRE = "administrative_centre", _("Administrative centre")
    LIBRARY_RICHES_CLAIRES = "library_riches_claires", _("Riches Claires library computer room")
    DOUBLE_CLICK = "double_click", _("Double Click computer room (CPAS)")
    BRAVVO = "bravvo", _("BRAVVO computer room")
    WORK_CENTRE = "work_centre", _("Work centre computer room")
    NEDER_OVER_HEEMBEEK = "neder_over_heembeek", _("Neder-Over-Heembeek liaison office")
    LOUISE = "louise", _("Louise district liaison office")
    LAEKEN = "laeken", _("Laeken liaison office")
    LAEKEN_MODEL_DISTRICT = "laeken_model_district", _("Laeken Modelwijk community centre")
    HAREN = "haren", _("Haren liaison office")


class TerminalState(models.TextChoices):
    ACTIVE = "active", _("active")
    DISABLED = "disabled", _("disabled")


class DeviceStatus(models.TextChoices):
    """What a terminal reports about one of its peripherals."""

    OK = "ok", _("working")
    WARNING = "warning", _("needs attention")
    ERROR = "error", _("out of order")
    UNKNOWN = "unknown", _("unknown")


class PaperLevel(models.TextChoices):
    OK = "ok", _("enough paper")
    LOW = "low", _("paper low")
    EMPTY = "empty", _("out of paper")
    UNKNOWN = "unknown", _("unknown")


class SessionMethod(models.TextChoices):
    EID = "eid", _("eID card")
    DIGITAL_KEY = "digital_key", _("digital key")


class SessionEndReason(models.TextChoices):
    EXPLICIT = "explicit", _("ended by the citizen")
    IDLE = "idle", _("idle timeout")
    MAXIMUM = "maximum", _("maximum duration reached")
    TERMINAL_DISABLED = "terminal_disabled", _("terminal disabled")


class TerminalEventKind(models.TextChoices):
    REGISTERED = "registered", _("registered")
    CREDENTIAL_ISSUED = "credential_issued", _("credential issued")
    CREDENTIAL_REVOKED = "credential_revoked", _("credential revoked")
    DISABLED = "disabled", _("disabled")
    ENABLED = "enabled", _("enabled")
    UPDATED = "updated", _("details changed")
    SESSION_OPENED = "session_opened", _("citizen session opened")
    SESSION_ENDED = "session_ended", _("citizen session ended")
