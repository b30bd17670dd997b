from django.db import models
from django.utils.translation import gettext_lazy as _


class AssuranceLevel(models.IntegerChoices):
    """eIDAS levels of assurance. A procedure states the level it needs; a login gives one.

    Ordered, so `session_level >= procedure.required_assurance_level` is the whole rule.
    """

    NONE = 0, _("none")
    LOW = 1, _("low")
    SUBSTANTIAL = 2, _("substantial")
    HIGH = 3, _("high")


class NumberKind(models.TextChoices):
    NATIONAL = "national", _("national register number")
    BIS = "bis", _("BIS number")


class Gender(models.TextChoices):
    FEMALE = "F", _("female")
    MALE = "M", _("male")
    OTHER = "X", _("other")


class CivilState(models.TextChoices):
    SINGLE = "single", _("single")
    MARRIED = "married", _("married")
    LEGAL_COHABITANT = "cohabitant", _("legal cohabitation")
    DIVORCED = "divorced", _("divorced")
    WIDOWED = "widowed", _("widowed")


# --- staff roles (group names are part of the contract between apps) ---------------------
GROUP_LRA_OFFICER = "Local Registration Officer - activation code"
GROUP_ACCESS_MANAGER = "Municipal access manager"
GROUP_CASE_AGENT = "Case agent"
GROUP_CASE_SUPERVISOR = "Case supervisor"
GROUP_COUNTER_AGENT = "Counter agent"
GROUP_CONTENT_EDITOR = "Content editor"
STAFF_GROUPS = [GROUP_LRA_OFFICER, GROUP_ACCESS_MANAGER, GROUP_CASE_AGENT,
                GROUP_CASE_SUPERVISOR, GROUP_COUNTER_AGENT, GROUP_CONTENT_EDITOR]
# Roles an access manager may grant or withdraw from the LRA screens (the LRA user agreement
# makes the municipal access manager the one who hands out the officer role).
GRANTABLE_GROUPS = [GROUP_LRA_OFFICER]
# One-time backup codes handed to a staff member with their authenticator app.
STAFF_BACKUP_CODE_COUNT = 10


class KeyKind(models.TextChoices):
    """Digital keys a citizen can create after an activation. Each gives a level of assurance."""

    EMAIL_OTP = "email_otp", _("security code by e-mail")
    TOTP = "totp", _("authenticator app")
    PASSKEY = "passkey", _("passkey")


KEY_ASSURANCE = {
    KeyKind.EMAIL_OTP: AssuranceLevel.LOW,
    KeyKind.TOTP: AssuranceLevel.SUBSTANTIAL,
    KeyKind.PASSKEY: AssuranceLevel.SUBSTANTIAL,
}


class LoginMethod(models.TextChoices):
    EMAIL_OTP = "email_otp", _("security code by e-mail")
    TOTP = "totp", _("authenticator app")
    PASSKEY = "passkey", _("passkey")
    OIDC = "oidc", _("eID or itsme")


class DocumentType(models.TextChoices):
    PASSPORT = "passport", _("passport")
    FOREIGN_ID_CARD = "foreign_id", _("foreign identity card")
    BELGIAN_ID_CARD = "belgian_id", _("Belgian identity card")
    RESIDENCE_PERMIT = "residence_permit", _("residence permit")
    TRAVEL_DOCUMENT = "travel_document", _("travel document")


class DocumentCheck(models.TextChoices):
    """Where the officer checked the document: Checkdoc for Belgian documents, PRADO (the
    EU public register of travel and identity documents) for foreign ones."""

    CHECKDOC = "checkdoc", _("Checkdoc")
    PRADO = "prado", _("PRADO")


class AuditAction(models.TextChoices):
    REGISTER_SEARCH = "register.search", _("register searched")
    REGISTER_VIEW = "register.view", _("register entry viewed")
    BIS_REGISTER = "register.bis_created", _("person registered in BIS")
    BIS_REFUSED = "register.bis_refused", _("BIS registration refused")
    ACTIVATION_ISSUED = "activation.issued", _("activation issued")
    ACTIVATION_REVOKED = "activation.revoked", _("activation revoked")
    ACTIVATION_USED = "activation.used", _("activation used")
    ACTIVATION_FAILED = "activation.failed", _("activation attempt failed")
    ACTIVATION_LOCKED = "activation.locked", _("activation locked")
    KEY_CREATED = "key.created", _("digital key created")
    KEY_RENAMED = "key.renamed", _("digital key renamed")
    KEY_REVOKED = "key.revoked", _("digital key revoked")
    LOGIN_SUCCESS = "login.success", _("login")
    LOGIN_FAILURE = "login.failure", _("login failed")
    LOGOUT = "login.logout", _("logout")
    RATE_LIMITED = "login.rate_limited", _("too many attempts")
    STAFF_VERIFIED = "staff.second_factor", _("staff second factor verified")
    STAFF_VERIFY_FAILED = "staff.second_factor_failed", _("staff second factor failed")
    STAFF_ENROLLED = "staff.second_factor_enrolled", _("staff second factor set up")
    STAFF_BACKUP_CODES = "staff.backup_codes", _("staff backup codes renewed")
    STAFF_RESET = "staff.second_factor_reset", _("staff second factor reset")
    ROLE_GRANTED = "role.granted", _("role granted")
    ROLE_WITHDRAWN = "role.withdrawn", _("role withdrawn")
    ACCOUNT_CREATED = "account.created", _("citizen account created")
