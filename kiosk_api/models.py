"""Self-service terminals in the city's branches, their credentials and citizen sessions.

A terminal authenticates every call with a credential shown once to the administrator who
registered it (only a SHA-256 digest is stored: the secret is 256 random bits, so a slow
password hash adds nothing). A citizen session is opened from the eID card (challenge-response
on a single-use nonce) or a digital key, is bound to the terminal that opened it, and ends
explicitly or after an idle timeout.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from identity.constants import AssuranceLevel
from kiosk_api.constants import (
    Branch,
    DeviceStatus,
    PaperLevel,
    SessionEndReason,
    SessionMethod,
    TerminalEventKind,
    TerminalState,
)


class Terminal(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True,
                            help_text=_("A short name printed on the terminal, e.g. centre-01."))
    branch = models.CharField(_("branch"), max_length=40, choices=Branch.choices)
    location = models.CharField(_("location"), max_length=200, blank=True,
                                help_text=_("Where the terminal stands in the branch."))
    # The Stripe Terminal Location (tml_...) its card reader is registered at: connection
    # tokens are scoped to it, so the reader SDK can only discover and connect readers there.
    stripe_location = models.CharField(
        _("Stripe Terminal location"), max_length=64, blank=True,
        help_text=_("The Stripe Terminal location id of the card reader (tml_...), if any."))
    state = models.CharField(_("state"), max_length=16, choices=TerminalState.choices,
                             default=TerminalState.ACTIVE, db_index=True)
    software_version = models.CharField(_("software version"), max_length=40, blank=True)
    last_heartbeat_at = models.DateTimeField(_("last heartbeat"), null=True, blank=True)
    printer_status = models.CharField(_("printer"), max_length=16, choices=DeviceStatus.choices,
                                      default=DeviceStatus.UNKNOWN)
    paper_level = models.CharField(_("paper"), max_length=16, choices=PaperLevel.choices,
                                   default=PaperLevel.UNKNOWN)
    card_reader_status = models.CharField(_("card reader"), max_length=16,
                                          choices=DeviceStatus.choices,
                                          default=DeviceStatus.UNKNOWN)
    payment_terminal_status = models.CharField(_("payment terminal"), max_length=16,
                                               choices=DeviceStatus.choices,
                                               default=DeviceStatus.UNKNOWN)
    created_at = models.DateTimeField(auto_now_add=True)
    disabled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("terminal")
        verbose_name_plural = _("terminals")
        ordering = ["branch", "code"]
        permissions = [("view_terminal_statistics", _("Can see terminal statistics"))]

    def __str__(self) -> str:
        return self.code

    @property
    def is_active(self) -> bool:
        return self.state == TerminalState.ACTIVE


class TerminalCredential(models.Model):
    """`Authorization: Terminal <key_id>:<secret>`; the secret is never stored."""

    terminal = models.ForeignKey(Terminal, on_delete=models.CASCADE, related_name="credentials")
    key_id = models.CharField(_("key id"), max_length=32, unique=True)
    secret_sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("terminal credential")
        verbose_name_plural = _("terminal credentials")

    def __str__(self) -> str:
        return f"{self.terminal.code}/{self.key_id}"


class TerminalHeartbeat(models.Model):
    terminal = models.ForeignKey(Terminal, on_delete=models.CASCADE, related_name="heartbeats")
    received_at = models.DateTimeField()
    software_version = models.CharField(max_length=40, blank=True)
    printer_status = models.CharField(max_length=16, choices=DeviceStatus.choices)
    paper_level = models.CharField(max_length=16, choices=PaperLevel.choices)
    card_reader_status = models.CharField(max_length=16, choices=DeviceStatus.choices)
    payment_terminal_status = models.CharField(max_length=16, choices=DeviceStatus.choices)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("terminal heartbeat")
        verbose_name_plural = _("terminal heartbeats")
        indexes = [models.Index(fields=["terminal", "-received_at"])]

    def __str__(self) -> str:
        return f"{self.terminal.code} {self.received_at:%Y-%m-%d %H:%M}"


class TerminalEvent(models.Model):
    """Audit trail of a terminal: administration and citizen sessions."""

    terminal = models.ForeignKey(Terminal, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=32, choices=TerminalEventKind.choices)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("terminal event")
        verbose_name_plural = _("terminal events")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.terminal.code} {self.kind}"


class SessionNonce(models.Model):
    """A challenge for the eID card: single use, short-lived, bound to one terminal."""

    terminal = models.ForeignKey(Terminal, on_delete=models.CASCADE, related_name="nonces")
    value = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("session nonce")
        verbose_name_plural = _("session nonces")

    def __str__(self) -> str:
        return f"{self.terminal.code} nonce"


class KioskSession(models.Model):
    """A citizen logged in at one terminal. The token is a bearer secret known to the terminal
    only; its SHA-256 digest is stored."""

    terminal = models.ForeignKey(Terminal, on_delete=models.PROTECT, related_name="sessions")
    token_sha256 = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                             related_name="kiosk_sessions")
    method = models.CharField(max_length=16, choices=SessionMethod.choices)
    assurance_level = models.PositiveSmallIntegerField(choices=AssuranceLevel.choices)
    language = models.CharField(max_length=8, choices=settings.LANGUAGES)
    certificate_fingerprint = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField()
    last_activity_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=20, choices=SessionEndReason.choices, blank=True)

    class Meta:
        verbose_name = _("terminal session")
        verbose_name_plural = _("terminal sessions")
        indexes = [models.Index(fields=["terminal", "started_at"])]

    def __str__(self) -> str:
        return f"{self.terminal.code} {self.started_at:%Y-%m-%d %H:%M}"


class KioskRequest(models.Model):
    """A request started at a terminal: counted per terminal in the back office statistics
    (the e-counter plan's "documents ordered through the e-counter")."""

    terminal = models.ForeignKey(Terminal, on_delete=models.PROTECT, related_name="requests")
    session = models.ForeignKey(KioskSession, on_delete=models.PROTECT, related_name="requests")
    case = models.OneToOneField("crm.Case", on_delete=models.CASCADE, related_name="kiosk_request")
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("request started at a terminal")
        verbose_name_plural = _("requests started at terminals")
        indexes = [models.Index(fields=["terminal", "created_at"])]

    def __str__(self) -> str:
        return f"{self.terminal.code} {self.case.reference}"


class PrintAck(models.Model):
    """A sealed document printed at a terminal, as the terminal acknowledges it. One row per
    document and terminal: a repeated acknowledgement (a retry after a lost answer) counts
    once — the e-counter plan counts documents delivered, not sheets."""

    terminal = models.ForeignKey(Terminal, on_delete=models.PROTECT, related_name="prints")
    session = models.ForeignKey(KioskSession, on_delete=models.PROTECT, related_name="prints")
    case = models.ForeignKey("crm.Case", on_delete=models.CASCADE, related_name="kiosk_prints")
    document_code = models.CharField(_("verification code"), max_length=64)
    printed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("document printed at a terminal")
        verbose_name_plural = _("documents printed at terminals")
        constraints = [models.UniqueConstraint(fields=["terminal", "document_code"],
                                               name="kiosk_print_once_per_terminal")]
        indexes = [models.Index(fields=["terminal", "printed_at"])]

    def __str__(self) -> str:
        return f"{self.terminal.code} {self.document_code}"
