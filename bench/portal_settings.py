"""Settings of the portal benchmark: the product's settings, served without debug, plus
the floor views of bench/portal_urls.py. Only `python -m bench.portal` uses them."""

import os
import secrets

from config.settings.base import *  # noqa: F403
from config.settings.base import BASE_DIR, TEMPLATES, env

DEBUG = False
SECRET_KEY = os.environ.get("BENCH_SECRET_KEY") or secrets.token_urlsafe(50)
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "bench.portal_urls"
TEMPLATES[0]["DIRS"] = [BASE_DIR / "bench" / "templates"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
PAGE_CACHE_SECONDS = env.int("PAGE_CACHE_SECONDS", default=0)
CELERY_TASK_ALWAYS_EAGER = True
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
