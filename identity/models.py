from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from identity.constants import (
    KEY_ASSURANCE,
    AssuranceLevel,
    AuditAction,
    CivilState,
    DocumentCheck,
    DocumentType,
    Gender,
    KeyKind,
    NumberKind,
)


class Address(models.Model):
    street = models.CharField(_("street"), max_length=200)
    number = models.CharField(_("number"), max_length=20)
    box = models.CharField(_("box"), max_length=20, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=10)
    municipality = models.CharField(_("municipality"), max_length=100)
    country = models.CharField(_("country"), max_length=2, default="BE")

    class Meta:
        verbose_name = _("address")
        verbose_name_plural = _("addresses")

    def __str__(self) -> str:
        box = f" {_('box')} {self.box}" if self.box else ""
        return f"{self.street} {self.number}{box}, {self.postal_code} {self.municipality}"


class Household(models.Model):
    address = models.ForeignKey(Address, on_delete=models.PROTECT, related_name="households")

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")

    def __str__(self) -> str:
        return f"{_('household')} {self.pk}"


class Person(models.Model):
    """An entry of the national register or of the BIS register (people without a national
    number: non-residents, cross-border workers). The number is stored without separators."""

    number = models.CharField(_("register number"), max_length=11, unique=True)
    number_kind = models.CharField(_("register"), max_length=10, choices=NumberKind.choices)
    first_names = models.CharField(_("first names"), max_length=200)
    last_name = models.CharField(_("last name"), max_length=200, db_index=True)
    birth_date = models.DateField(_("birth date"), db_index=True)
    birth_place = models.CharField(_("birth place"), max_length=200, blank=True)
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices)
    nationality = models.CharField(_("nationality"), max_length=2, default="BE")
    address = models.ForeignKey(Address, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="residents")
    household = models.ForeignKey(Household, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="members")
    is_household_head = models.BooleanField(_("head of household"), default=False)
    civil_state = models.CharField(_("civil state"), max_length=20, choices=CivilState.choices,
                                   default=CivilState.SINGLE)
    deceased = models.BooleanField(_("deceased"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        indexes = [models.Index(fields=["last_name", "birth_date"])]

    def __str__(self) -> str:
        return f"{self.first_names} {self.last_name}"

    @property
    def full_name(self) -> str:
        return f"{self.first_names} {self.last_name}"


class User(AbstractUser):
    """An account: a citizen (linked to their register entry) or a member of staff.

    Citizens never have a usable password: they log in with a digital key, eID or itsme.
    Staff log in with a password and a second factor.
    """

    email = models.EmailField(_("e-mail address"), blank=True)
    preferred_language = models.CharField(_("language"), max_length=8,
                                          choices=settings.LANGUAGES, default="fr")
    person = models.OneToOneField(Person, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="account")

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"


class IdentityDocument(models.Model):
    """The identity document an LRA officer checked before registering a person in BIS."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="documents")
    document_type = models.CharField(_("document type"), max_length=20,
                                      choices=DocumentType.choices)
    document_number = models.CharField(_("document number"), max_length=40)
    issuing_country = models.CharField(_("issuing country"), max_length=2)
    expires_on = models.DateField(_("expiry date"))
    checked_with = models.CharField(_("checked with"), max_length=10,
                                    choices=DocumentCheck.choices)
    checked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                   related_name="+")
    checked_at = models.DateTimeField(_("checked at"), default=timezone.now)

    class Meta:
        verbose_name = _("identity document")
        verbose_name_plural = _("identity documents")
        constraints = [
            models.UniqueConstraint(fields=["document_type", "issuing_country", "document_number"],
                                    name="identity_document_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.get_document_type_display()} {self.issuing_country} {self.document_number}"


class Activation(models.Model):
    """An activation handed out by an LRA officer: a link e-mailed to the citizen and a code
    printed on the start card. Only HMAC digests of both are kept; the link finds the row and
    the code proves the citizen also met the officer, so one is worthless without the other."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="activations")
    email = models.EmailField(_("e-mail address"))
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    link_digest = models.CharField(max_length=64, unique=True)
    code_digest = models.CharField(max_length=64)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                  related_name="activations_issued")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    locked_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("activation")
        verbose_name_plural = _("activations")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{_('activation')} {self.pk} ({self.person})"

    @property
    def status(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.used_at:
            return "used"
        if self.locked_at:
            return "locked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"

    def get_status_display(self) -> str:
        return str(ACTIVATION_STATUS_LABELS[self.status])


ACTIVATION_STATUS_LABELS = {
    "revoked": _("revoked"),
    "used": _("used"),
    "locked": _("locked after too many wrong codes"),
    "expired": _("expired"),
    "pending": _("waiting for the citizen"),
}


class DigitalKey(models.Model):
    """A way for a citizen to log in. Secrets are kind-specific: the TOTP seed, or the
    passkey's credential id and public key (COSE). E-mail codes live in EmailChallenge."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="digital_keys")
    kind = models.CharField(_("kind"), max_length=20, choices=KeyKind.choices)
    name = models.CharField(_("name"), max_length=80)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    totp_secret = models.CharField(max_length=64, blank=True)
    totp_last_counter = models.BigIntegerField(default=-1)
    credential_id = models.BinaryField(null=True, blank=True)
    credential_id_b64 = models.CharField(max_length=400, blank=True, db_index=True)
    public_key = models.BinaryField(null=True, blank=True)
    sign_count = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("digital key")
        verbose_name_plural = _("digital keys")
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @property
    def assurance_level(self) -> AssuranceLevel:
        return KEY_ASSURANCE[KeyKind(self.kind)]


class EmailChallenge(models.Model):
    """A one-time code sent by e-mail, to log in or to prove an address while creating an
    e-mail key. Hashed; expires after IDENTITY_EMAIL_OTP_MINUTES; a few wrong tries burn it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="email_challenges")
    purpose = models.CharField(max_length=20)  # "login" or "enrol"
    code_digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.purpose} code for {self.user_id}"


class IdentityAuditEvent(models.Model):
    """Who did what to whom and when: written in the same transaction as the change."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="identity_actions")
    action = models.CharField(_("action"), max_length=40, choices=AuditAction.choices,
                              db_index=True)
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="audit_events")
    subject_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="identity_audit")
    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("identity audit event")
        verbose_name_plural = _("identity audit events")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action}"
