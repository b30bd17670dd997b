"""Production: no insecure default and no secret default.

SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL, REDIS_URL and EMAIL_URL must come from the
environment; the process refuses to start without them. The web tier runs several stateless
gunicorn pods behind a TLS-terminating proxy (deploy/), so the cache, the Celery broker and
rate limits live in Redis, never in process memory.
"""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F401,F403
from .base import LOGGING, database, env

DEBUG = False
SECRET_KEY = env.str("SECRET_KEY")
if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
    raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters long and random.")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
if not ALLOWED_HOSTS or "*" in ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must list the site's host names.")
DATABASES = {"default": database(env.db_url("DATABASE_URL"))}

# --- cache, broker: shared by every pod ---------------------------------------------------
REDIS_URL = env.str("REDIS_URL")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="guichet"),
    }
}
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = False
# Requests only write their side effects; the relay process (manage.py outbox_relay, a
# service of deploy/) publishes them, so a request never waits on the broker.
CRM_OUTBOX_RELAY_ON_COMMIT = env.bool("CRM_OUTBOX_RELAY_ON_COMMIT", default=False)

# --- e-mail: a real transport, never the console -----------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL")
vars().update(EMAIL_CONFIG)

# --- HTTPS behind the proxy (nginx / the ingress sets X-Forwarded-Proto) ------------------
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# The orchestrator's probes call /healthz over plain HTTP inside the cluster.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
USE_X_FORWARDED_HOST = False

# Per-task lines of Wagtail's search indexing drown the useful ones.
LOGGING = {**LOGGING, "loggers": {**LOGGING["loggers"], "django_tasks": {"level": "WARNING"}}}
