"""Development: the embedded defaults of `make run` (SQLite, eager tasks, console e-mail)."""

from .base import *  # noqa: F401,F403
from .base import VAR_DIR, env

DEBUG = env.bool("DEBUG", default=True)
# A development-only key, generated per checkout and never committed.
_key_file = VAR_DIR / "dev-secret-key"
if not SECRET_KEY:  # noqa: F405
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    if not _key_file.exists():
        import secrets

        _key_file.write_text(secrets.token_urlsafe(50))
    SECRET_KEY = _key_file.read_text().strip()
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
STORAGES = {  # noqa: F405
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# The demo eID card's test authority (made by `manage.py kiosk_demo`) opens terminal sessions
# in development unless real trust anchors are configured.
_demo_eid_root = VAR_DIR / "kiosk" / "demo-eid" / "root.pem"
if not env.list("KIOSK_EID_TRUST_ANCHORS", default=[]) and _demo_eid_root.exists():
    KIOSK_EID_TRUST_ANCHORS = [str(_demo_eid_root)]
