"""Settings shared by every environment.

Every value that differs between deployments comes from an environment variable, read here
and only here. The README lists them in one table.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("GUICHET_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
# Keys still accepted after a rotation (sessions, signed links, staff backup codes), newest
# first; drop them once what they signed has expired.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default=f"http://127.0.0.1:{env.int('PORT', default=8000)}")

INSTALLED_APPS = [
    # our apps first, so their templates override Wagtail's and Django's
    "core",
    "catalogue",
    "identity",
    "portal",
    "crm",
    "payments",
    "signing",
    "kiosk_api",
    # Wagtail
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail.contrib.simple_translation",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail.locales",
    "wagtail",
    "modelcluster",
    "taggit",
    # third parties
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "mozilla_django_oidc",
    # Django
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "core.middleware.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.middleware.RequestIdMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "wagtail.contrib.settings.context_processors.settings",
            ],
        },
    }
]

# --- database -------------------------------------------------------------------------

def database(url_settings: dict) -> dict:
    """The default database from its DATABASE_URL settings, with what every environment
    adds (production calls it too, with no default URL)."""
    db = {**url_settings, "CONN_MAX_AGE": env.int("DB_CONN_MAX_AGE", default=60),
          "CONN_HEALTH_CHECKS": True, "ATOMIC_REQUESTS": False}
    options = db.setdefault("OPTIONS", {})
    if db["ENGINE"].endswith("sqlite3"):
        # IMMEDIATE: a transaction takes the write lock when it begins, so two writers wait
        # for each other (up to the timeout) instead of failing with "database is locked"
        # when one of them upgrades its read lock mid-transaction.
        options.update(timeout=20, transaction_mode="IMMEDIATE")
    elif db["ENGINE"].endswith("postgresql"):
        # Django leaves prepared statements off (for poolers); core.db.prepared_cursor asks
        # for them on the few statements worth it. Django's own cursors are never prepared.
        options["prepare_threshold"] = (
            5 if env.bool("DB_PREPARED_STATEMENTS", default=True) else None)
    return db


# DATABASE_URL selects PostgreSQL (production, CI); without it an SQLite file in var/.
DATABASES = {"default": database(
    env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'guichet.sqlite3'}"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache and broker -------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="guichet"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes the database connection before and after every task unless
# this is set: a new connection per task (a PostgreSQL login for every sealed document).
# Keep it for this many tasks instead (a connection lost meanwhile fails its task, retried).
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=100)
CELERY_TIMEZONE = "Europe/Brussels"
CELERY_BEAT_SCHEDULE: dict = {}

# --- auth -------------------------------------------------------------------------------
AUTH_USER_MODEL = "identity.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "identity:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 8)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# --- languages --------------------------------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [
    ("fr", "Français"),
    ("nl", "Nederlands"),
    ("en", "English"),
    ("de", "Deutsch"),
]
LANGUAGE_CODES = [code for code, _name in LANGUAGES]
WAGTAIL_I18N_ENABLED = True
WAGTAIL_CONTENT_LANGUAGES = LANGUAGES
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "Europe/Brussels"

# --- static and media -------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = env.str("STATIC_ROOT", default=str(VAR_DIR / "static"))
MEDIA_URL = "/media/"
MEDIA_ROOT = env.str("MEDIA_ROOT", default=str(VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- e-mail -----------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Guichet <noreply@guichet.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Wagtail ----------------------------------------------------------------------------
WAGTAIL_SITE_NAME = "Guichet"
WAGTAILADMIN_BASE_URL = SITE_URL
WAGTAIL_ENABLE_UPDATE_CHECK = False
WAGTAILADMIN_PERMITTED_LANGUAGES = LANGUAGES
WAGTAILDOCS_EXTENSIONS = ["pdf", "odt", "docx", "xlsx", "csv", "txt"]
OPENSEARCH_URL = env.str("OPENSEARCH_URL", default="")
if OPENSEARCH_URL:
    WAGTAILSEARCH_BACKENDS = {
        "default": {
            "BACKEND": "portal.search_backends.opensearch",
            "URLS": [OPENSEARCH_URL],
            "INDEX": env.str("OPENSEARCH_INDEX", default="guichet"),
            "TIMEOUT": 5,
            "OPTIONS": {},
            "INDEX_SETTINGS": {},
        }
    }
else:
    WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}

# Anonymous portal pages are cached whole; publishing purges them (portal.cache).
PAGE_CACHE_SECONDS = env.int("PAGE_CACHE_SECONDS", default=300)

# --- REST framework ---------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "core.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Guichet API",
    "DESCRIPTION": "API of the Guichet citizen portal: self-service terminals and mobile.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Only our published API (/api/...): Wagtail's internal admin API is not a contract.
    "PREPROCESSING_HOOKS": ["kiosk_api.schema.published_api_only"],
    # One name per choice set used by several fields (else spectacular names each copy after
    # its first field: CardReaderEnum for a printer's status).
    "ENUM_NAME_OVERRIDES": {
        "DeviceStatusEnum": "kiosk_api.constants.DeviceStatus",
        "PaperLevelEnum": "kiosk_api.constants.PaperLevel",
        "AssuranceLevelEnum": "identity.constants.AssuranceLevel",
        "LanguageEnum": "kiosk_api.constants.LANGUAGE_CHOICES",
    },
    # The documentation pages load Redoc and Swagger UI from our static files
    # (drf-spectacular-sidecar), never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- OpenID Connect (federal authentication service: eID, itsme) -----------------------
OIDC_RP_CLIENT_ID = env.str("OIDC_RP_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env.str("OIDC_RP_CLIENT_SECRET", default="")
OIDC_OP_AUTHORIZATION_ENDPOINT = env.str("OIDC_OP_AUTHORIZATION_ENDPOINT", default="")
OIDC_OP_TOKEN_ENDPOINT = env.str("OIDC_OP_TOKEN_ENDPOINT", default="")
OIDC_OP_USER_ENDPOINT = env.str("OIDC_OP_USER_ENDPOINT", default="")
OIDC_OP_JWKS_ENDPOINT = env.str("OIDC_OP_JWKS_ENDPOINT", default="")
OIDC_RP_SIGN_ALGO = env.str("OIDC_RP_SIGN_ALGO", default="RS256")

# --- logging ----------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- per-app settings: each app adds its own below its heading -----------------------

# identity
# Citizens log in with digital keys (identity.services) or the federal OIDC service; staff
# with a password and a second factor (django-otp), checked by identity.middleware.
AUTHENTICATION_BACKENDS = [
    "identity.backends.StaffPasswordBackend",
    "identity.backends.DigitalKeyBackend",
    "identity.backends.FederalOIDCBackend",
]
MIDDLEWARE += ["identity.middleware.StaffSecondFactorMiddleware"]
IDENTITY_REGISTER_ADAPTER = env.str("IDENTITY_REGISTER_ADAPTER", default="local")
IDENTITY_ACTIVATION_DAYS = env.int("IDENTITY_ACTIVATION_DAYS", default=14)
IDENTITY_ACTIVATION_MAX_TRIES = env.int("IDENTITY_ACTIVATION_MAX_TRIES", default=5)
IDENTITY_EMAIL_OTP_MINUTES = env.int("IDENTITY_EMAIL_OTP_MINUTES", default=10)
IDENTITY_EMAIL_OTP_MAX_TRIES = env.int("IDENTITY_EMAIL_OTP_MAX_TRIES", default=5)
# django-ratelimit rates ("count/period") for the login and activation endpoints.
IDENTITY_RATE_PER_IP = env.str("IDENTITY_RATE_PER_IP", default="30/15m")
IDENTITY_RATE_PER_ACCOUNT = env.str("IDENTITY_RATE_PER_ACCOUNT", default="10/15m")
# WebAuthn relying party: the host name of SITE_URL unless set.
IDENTITY_WEBAUTHN_RP_ID = env.str("IDENTITY_WEBAUTHN_RP_ID", default="")
IDENTITY_WEBAUTHN_RP_NAME = env.str("IDENTITY_WEBAUTHN_RP_NAME", default="Guichet")
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Guichet")
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"
# The federal authentication service (FAS/CSAM) returns the national number in the
# "egovNRN" claim when the "egovnrn" scope is asked for.
OIDC_RP_SCOPES = env.str("OIDC_RP_SCOPES", default="openid profile egovnrn")
OIDC_NATIONAL_NUMBER_CLAIM = env.str("OIDC_NATIONAL_NUMBER_CLAIM", default="egovNRN")
OIDC_USE_PKCE = env.bool("OIDC_USE_PKCE", default=True)
OIDC_CALLBACK_CLASS = "identity.views_oidc.FederalOIDCCallbackView"
OIDC_AUTHENTICATE_CLASS = "identity.views_oidc.FederalOIDCRequestView"
CELERY_BEAT_SCHEDULE["identity-purge-email-codes"] = {
    "task": "identity.tasks.purge_email_challenges", "schedule": 60 * 60 * 6}

# crm
# Largest attachment accepted by the intake, whatever a procedure allows (bytes).
CRM_ATTACHMENT_MAX_BYTES = env.int("CRM_ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
CRM_MESSAGE_MAX_CHARS = 5000
# An unfinished form is kept this many days after its last change.
CRM_DRAFT_TTL_DAYS = env.int("CRM_DRAFT_TTL_DAYS", default=30)
# A case is "due soon" this many working days before its deadline.
CRM_SLA_NEAR_WORKING_DAYS = env.int("CRM_SLA_NEAR_WORKING_DAYS", default=1)
# Closing days of the administration besides the national public holidays, as MM-DD
# (e.g. "05-08,11-15" for Iris Day and the King's Feast); see crm/sla.py.
CRM_SLA_EXTRA_CLOSED_DAYS = env.list("CRM_SLA_EXTRA_CLOSED_DAYS", default=[])
# Publish outbox rows right after the transaction that wrote them (beat catches up anyway).
CRM_OUTBOX_RELAY_ON_COMMIT = env.bool("CRM_OUTBOX_RELAY_ON_COMMIT", default=True)
# Beat publishes again the outbox rows still unprocessed this many seconds after they were
# written (or last published by beat); the message sent at the commit has that long.
CRM_OUTBOX_GRACE_SECONDS = env.int("CRM_OUTBOX_GRACE_SECONDS", default=60)
# The relay process (manage.py outbox_relay) publishes what was committed this often.
CRM_OUTBOX_RELAY_INTERVAL_MS = env.int("CRM_OUTBOX_RELAY_INTERVAL_MS", default=50)
CELERY_BEAT_SCHEDULE.update({
    "crm-outbox-relay": {"task": "crm.tasks.outbox_relay", "schedule": 5.0},
    "crm-sla-watch": {"task": "crm.tasks.sla_watch", "schedule": 15 * 60.0},
    "crm-drafts-purge": {"task": "crm.tasks.drafts_purge", "schedule": 6 * 60 * 60.0},
})

# payments
# Stripe keys come from the environment in production; the development and test defaults point
# at localstripe (a fake Stripe on loopback) and are not secrets.
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="http://127.0.0.1:8420")
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="sk_test_localstripe")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="pk_test_localstripe")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="whsec_localstripe")
STRIPE_JS_URL = env.str("STRIPE_JS_URL", default=f"{STRIPE_API_BASE}/js.stripe.com/v3/")
# Payment method types offered on the pay page ("card,bancontact" with real Stripe).
STRIPE_PAYMENT_METHOD_TYPES = env.list("STRIPE_PAYMENT_METHOD_TYPES", default=["card"])
# Signed webhooks older than this are refused (Stripe's own default is 300 s).
STRIPE_WEBHOOK_TOLERANCE = env.int("STRIPE_WEBHOOK_TOLERANCE", default=300)
# A Stripe payment still pending after this many minutes is asked about by reconciliation.
PAYMENTS_RECONCILE_AFTER_MINUTES = env.int("PAYMENTS_RECONCILE_AFTER_MINUTES", default=15)
# Card attempts allowed per citizen account on the pay page (django-ratelimit rate).
PAYMENTS_CONFIRM_RATE = env.str("PAYMENTS_CONFIRM_RATE", default="10/h")
CELERY_BEAT_SCHEDULE["payments-reconcile"] = {
    "task": "payments.tasks.reconcile_pending_payments",
    "schedule": 300.0,
}

# signing
# (Not SIGNING_BACKEND: that name is Django's own cookie-signer setting.)
# The city's seal key: "pkcs11" (an HSM; SoftHSM in development and tests) or "pkcs12" (a
# file). Empty: the development key that `make run` creates under var/signing/ (see
# signing.devkeys); production must set it. No secret has a default.
SIGNING_SEAL_BACKEND = env.str("SIGNING_SEAL_BACKEND", default="")
SIGNING_PKCS11_MODULE = env.str("SIGNING_PKCS11_MODULE",
                                default="/usr/lib/softhsm/libsofthsm2.so")
SIGNING_PKCS11_TOKEN_LABEL = env.str("SIGNING_PKCS11_TOKEN_LABEL", default="guichet-seal")
SIGNING_PKCS11_PIN = env.str("SIGNING_PKCS11_PIN", default="")
SIGNING_PKCS11_KEY_LABEL = env.str("SIGNING_PKCS11_KEY_LABEL", default="seal")
SIGNING_PKCS11_CERT_LABEL = env.str("SIGNING_PKCS11_CERT_LABEL", default="")
# SoftHSM finds its tokens through SOFTHSM2_CONF; set here when it is not in the environment.
SIGNING_SOFTHSM2_CONF = env.str("SIGNING_SOFTHSM2_CONF", default="")
SIGNING_PKCS12_PATH = env.str("SIGNING_PKCS12_PATH", default="")
SIGNING_PKCS12_PASSPHRASE = env.str("SIGNING_PKCS12_PASSPHRASE", default="")
# PEM file(s) with the seal certificate's issuing chain, embedded in every signature.
SIGNING_CHAIN_PATHS = env.list("SIGNING_CHAIN_PATHS", default=[])
# RFC 3161 time-stamping authority: with it documents are PAdES B-T, and B-LT (OCSP/CRL
# embedded) when SIGNING_LTV is on.
SIGNING_TSA_URL = env.str("SIGNING_TSA_URL", default="")
SIGNING_LTV = env.bool("SIGNING_LTV", default=True)
# Trust anchors (PEM/DER paths) the verification page validates seals against.
SIGNING_TRUST_ROOTS = env.list("SIGNING_TRUST_ROOTS", default=[])
# Whether verification may fetch OCSP/CRL data over the network (else: embedded data only).
SIGNING_VALIDATION_FETCH = env.bool("SIGNING_VALIDATION_FETCH", default=False)
SIGNING_SEAL_LOCATION = env.str("SIGNING_SEAL_LOCATION", default="Bruxelles / Brussel")
SIGNING_VERIFY_MAX_UPLOAD_BYTES = env.int("SIGNING_VERIFY_MAX_UPLOAD_BYTES",
                                          default=10 * 1024 * 1024)
SIGNING_VERIFY_RATE = env.str("SIGNING_VERIFY_RATE", default="30/m")
# Remote signing service (Cloud Signature Consortium API) for citizens' own signatures.
SIGNING_CSC_SERVICE_URL = env.str("SIGNING_CSC_SERVICE_URL", default="")
SIGNING_CSC_OAUTH_TOKEN = env.str("SIGNING_CSC_OAUTH_TOKEN", default="")
SIGNING_CSC_TIMEOUT = env.int("SIGNING_CSC_TIMEOUT", default=30)

# kiosk_api
# Self-service terminals. Trust anchors: PEM or DER files of the root CAs whose citizen
# authentication certificates open a session (production: the Belgium Root CA certificates).
KIOSK_EID_TRUST_ANCHORS = env.list("KIOSK_EID_TRUST_ANCHORS", default=[])
# Revocation of eID certificates: "soft-fail" checks OCSP/CRL when reachable,
# "hard-fail" refuses a card whose status cannot be established.
KIOSK_EID_REVOCATION_MODE = env.str("KIOSK_EID_REVOCATION_MODE", default="soft-fail")
KIOSK_EID_FETCH_REVOCATION = env.bool("KIOSK_EID_FETCH_REVOCATION", default=False)
KIOSK_NONCE_SECONDS = env.int("KIOSK_NONCE_SECONDS", default=60)
KIOSK_SESSION_IDLE_SECONDS = env.int("KIOSK_SESSION_IDLE_SECONDS", default=120)
KIOSK_SESSION_MAX_SECONDS = env.int("KIOSK_SESSION_MAX_SECONDS", default=1800)
KIOSK_SILENT_AFTER_SECONDS = env.int("KIOSK_SILENT_AFTER_SECONDS", default=600)
KIOSK_THROTTLE_RATE = env.str("KIOSK_THROTTLE_RATE", default="300/min")
KIOSK_SESSION_OPEN_THROTTLE_RATE = env.str("KIOSK_SESSION_OPEN_THROTTLE_RATE", default="30/min")
# The payments provider (payments.providers registry) the terminals' payment devices use.
KIOSK_PAYMENT_PROVIDER = env.str("KIOSK_PAYMENT_PROVIDER", default="stripe_terminal")

# portal
# Navigation, language links, listings and page routes are remembered until the next publish
# (portal.cache fragments), at most this long; 0 turns them off.
PORTAL_FRAGMENT_CACHE_SECONDS = env.int("PORTAL_FRAGMENT_CACHE_SECONDS", default=3600)
