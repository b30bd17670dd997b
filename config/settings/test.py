"""Tests: PostgreSQL and Redis when DATABASE_URL / REDIS_URL are set (CI), else SQLite."""

from .base import *  # noqa: F401,F403
from .base import env

DEBUG = False
SECRET_KEY = "test-only-not-secret"  # noqa: S105
ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {  # noqa: F405
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Tests decide per test whether tasks run eagerly or go through the broker.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
PAGE_CACHE_SECONDS = 0
MEDIA_ROOT = env.str("MEDIA_ROOT", default="/tmp/guichet-test-media")  # noqa: S108
# Static files come from the apps' folders (nothing is collected for the suite).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
