"""Production settings pass Django's deployment checklist, and the deploy/ manifests are
well-formed and agree with those settings."""

from __future__ import annotations

import datetime
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
CHART = DEPLOY / "helm" / "guichet"


def _seal_key(tmp_path: Path) -> tuple[Path, Path]:
    """A PKCS#12 seal key and its certificate, as an operator would mount them."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Guichet test seal")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    p12 = tmp_path / "seal.p12"
    p12.write_bytes(pkcs12.serialize_key_and_certificates(
        b"seal", key, cert, None, serialization.BestAvailableEncryption(b"seal-passphrase")))
    pem = tmp_path / "seal.pem"
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return p12, pem


def _production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    p12, pem = _seal_key(tmp_path)
    env = {key: value for key, value in os.environ.items()
           if key in {"PATH", "HOME", "LANG", "LC_ALL", "PYTHONPATH", "VIRTUAL_ENV"}}
    env.update({
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "guichet.example.org",
        "CSRF_TRUSTED_ORIGINS": "https://guichet.example.org",
        "SITE_URL": "https://guichet.example.org",
        # The check does not connect: any well-formed URL describes the deployment.
        "DATABASE_URL": "postgres://guichet:secret@db.internal:5432/guichet",
        "REDIS_URL": "redis://redis.internal:6379/0",
        "EMAIL_URL": "smtp+tls://mailer:secret@smtp.example.org:587",
        "GUICHET_VAR_DIR": str(tmp_path / "var"),
        "STATIC_ROOT": str(tmp_path / "static"),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "STRIPE_API_BASE": "https://api.stripe.com",
        "STRIPE_JS_URL": "https://js.stripe.com/v3/",
        "STRIPE_SECRET_KEY": "sk_live_" + "x" * 24,
        "STRIPE_PUBLISHABLE_KEY": "pk_live_" + "x" * 24,
        "STRIPE_WEBHOOK_SECRET": "whsec_" + "x" * 24,
        "SIGNING_SEAL_BACKEND": "pkcs12",
        "SIGNING_PKCS12_PATH": str(p12),
        "SIGNING_PKCS12_PASSPHRASE": "seal-passphrase",
        "SIGNING_TRUST_ROOTS": str(pem),
        "KIOSK_EID_TRUST_ANCHORS": str(pem),
    })
    env.update(overrides)
    return env


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=240)


def test_check_deploy_is_clean_under_production_settings(tmp_path):
    result = _manage(_production_env(tmp_path), "check", "--deploy", "--fail-level",
                     "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_leaves_publishing_to_the_relay_and_prepares_statements(tmp_path):
    show = ("from django.conf import settings as s; "
            "print(s.CRM_OUTBOX_RELAY_ON_COMMIT, "
            "s.DATABASES['default']['OPTIONS']['prepare_threshold'])")
    result = _manage(_production_env(tmp_path), "shell", "-c", show)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == ["False", "5"]
    result = _manage(_production_env(tmp_path, DB_PREPARED_STATEMENTS="false",
                                     CRM_OUTBOX_RELAY_ON_COMMIT="true"), "shell", "-c", show)
    assert result.stdout.splitlines()[-1].split() == ["True", "None"]


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL",
                                     "REDIS_URL", "EMAIL_URL"])
def test_production_refuses_to_start_without_a_required_setting(tmp_path, missing):
    env = _production_env(tmp_path)
    del env[missing]
    result = _manage(env, "check")
    assert result.returncode != 0
    assert missing in result.stderr


@pytest.mark.parametrize("name, value", [("SECRET_KEY", "too-short"),
                                         ("SECRET_KEY", "a" * 60),
                                         ("ALLOWED_HOSTS", "*")])
def test_production_refuses_weak_values(tmp_path, name, value):
    result = _manage(_production_env(tmp_path, **{name: value}), "check")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr


# ----------------------------------------------------------------- manifests

def _render(text: str) -> str:
    """Helm templates are YAML once their {{ }} actions are replaced: enough to parse them
    here without helm. Whole-line actions (if/end/range/with/include) are dropped."""
    lines = []
    for line in text.splitlines():
        stripped = line.strip()
        if re.fullmatch(r"(\{\{.*?\}\}\s*)+", stripped):
            continue
        lines.append(re.sub(r"\{\{-?.*?-?\}\}", "x", line))
    return "\n".join(lines)


def test_compose_file_defines_the_services_and_production_settings():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert {"web", "worker", "beat", "relay", "postgres", "redis", "opensearch"} <= set(services)
    assert services["relay"]["command"] == ["python", "manage.py", "outbox_relay"]
    for name in ("web", "worker", "beat", "relay", "migrate"):
        environment = services[name]["environment"]
        assert environment["DJANGO_SETTINGS_MODULE"] == "config.settings.production", name
        for required in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "EMAIL_URL"):
            assert required in environment, (name, required)
    assert "healthz" in str(services["web"]["healthcheck"])


def test_helm_chart_parses_and_covers_the_deployment():
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["name"] == "guichet" and chart["apiVersion"] == "v2"
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert values["web"]["replicas"] >= 2
    kinds: dict[str, list[str]] = {}
    for template in sorted((CHART / "templates").glob("*.yaml")):
        for document in yaml.safe_load_all(_render(template.read_text())):
            if document:
                kinds.setdefault(document["kind"], []).append(template.name)
    assert sorted(kinds["Deployment"]) == ["beat.yaml", "relay.yaml", "web.yaml", "worker.yaml"]
    assert "outbox_relay" in (CHART / "templates" / "relay.yaml").read_text()
    for kind in ("Service", "Ingress", "ConfigMap", "HorizontalPodAutoscaler",
                 "PodDisruptionBudget", "Job"):
        assert kind in kinds, kind
    web = (CHART / "templates" / "web.yaml").read_text()
    assert "/healthz" in web and "readinessProbe" in web and "livenessProbe" in web


def test_every_variable_the_chart_sets_is_read_by_the_settings():
    """The chart may not set a variable nobody reads (a typo would silently do nothing)."""
    settings_text = "".join(p.read_text() for p in (ROOT / "config" / "settings").glob("*.py"))
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    names = set(values["config"]) | set(values["secretKeys"])
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS", "EMAIL_URL"} <= names
    for name in names:
        assert f'"{name}"' in settings_text, name


def test_image_runs_as_non_root_and_collects_static_files():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert dockerfile.startswith("# syntax=") or "FROM python:3.11-slim" in dockerfile
    assert "FROM python:3.11-slim" in dockerfile
    assert re.search(r"^USER\s+(?!root|0\b)\S+", dockerfile, re.M)
    assert "collectstatic" in dockerfile and "compilemessages" in dockerfile
    assert "gunicorn" in dockerfile and "deploy/gunicorn.conf.py" in dockerfile
