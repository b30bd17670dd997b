"""gunicorn for the Guichet web tier: sync workers, one process per pod core.

Sync workers suit a Django app whose time is spent in the database; each pod gets a
CPU request/limit and `WEB_CONCURRENCY` matches it (2 by default), and the Horizontal Pod
Autoscaler adds pods rather than threads. Persistent database connections (DB_CONN_MAX_AGE)
keep the per-request cost low.
"""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"  # noqa: S104 - inside the container
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "sync"
# A request taking longer than this is a bug or an attack: the worker is recycled.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so a slow leak never takes a pod down.
max_requests = 2000
max_requests_jitter = 200
# Heartbeat files in memory, not on the (read-only) container filesystem.
worker_tmp_dir = "/dev/shm"  # noqa: S108
# Requests come from the ingress / nginx only; trust their X-Forwarded-* headers.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
limit_request_line = 8190
limit_request_fields = 100
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s'
preload_app = True
