"""Where the city's seal key lives: a registry of signing backends (core.registry).

`pkcs11` (an HSM in production, SoftHSM in development and tests) and `pkcs12` (a key file,
the fallback) each turn the settings into a loaded `pdf_seal.Sealer`. The process keeps that
sealer (and so the PKCS#11 session) open between documents: opening a session costs more
than the signature itself. A forked worker opens its own (sessions do not survive fork).
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning

from core.registry import BasePlugin, Registry
from signing import pdf_seal


class SigningBackend(BasePlugin):
    def open(self, config: dict[str, Any]) -> pdf_seal.Sealer:  # pragma: no cover - abstract
        raise NotImplementedError

    def config_problems(self, config: dict[str, Any]) -> list[str]:
        return []


registry: Registry[SigningBackend] = Registry("signing backends")


def dev_config_path() -> Path:
    return Path(settings.VAR_DIR) / "signing" / "dev-key.json"


def _dev_config() -> dict[str, Any]:
    path = dev_config_path()
    return json.loads(path.read_text()) if path.exists() else {}


def active_config() -> dict[str, Any]:
    """The effective seal configuration: the settings, or, when SIGNING_SEAL_BACKEND is empty,
    the development key written by signing.devkeys (never used in production, where the
    backend must be set explicitly)."""
    if settings.SIGNING_SEAL_BACKEND:
        return {
            "backend": settings.SIGNING_SEAL_BACKEND,
            "module": settings.SIGNING_PKCS11_MODULE,
            "token_label": settings.SIGNING_PKCS11_TOKEN_LABEL,
            "pin": settings.SIGNING_PKCS11_PIN,
            "key_label": settings.SIGNING_PKCS11_KEY_LABEL,
            "cert_label": settings.SIGNING_PKCS11_CERT_LABEL,
            "softhsm2_conf": settings.SIGNING_SOFTHSM2_CONF,
            "pkcs12_path": settings.SIGNING_PKCS12_PATH,
            "passphrase": settings.SIGNING_PKCS12_PASSPHRASE,
            "chain_paths": list(settings.SIGNING_CHAIN_PATHS),
            "trust_roots": list(settings.SIGNING_TRUST_ROOTS),
        }
    dev = _dev_config()
    if dev:
        dev.setdefault("trust_roots", [])
        dev.setdefault("chain_paths", [])
        if settings.SIGNING_TRUST_ROOTS:
            dev["trust_roots"] = list(settings.SIGNING_TRUST_ROOTS)
    return dev


@registry.register("pkcs11")
class Pkcs11Backend(SigningBackend):
    verbose_name = "PKCS#11 token (HSM, SoftHSM)"

    def config_problems(self, config: dict[str, Any]) -> list[str]:
        problems = []
        if not config.get("module") or not os.path.exists(config["module"]):
            problems.append(f"PKCS#11 module not found: {config.get('module')!r}")
        if not config.get("pin"):
            problems.append("SIGNING_PKCS11_PIN is empty")
        if not config.get("token_label"):
            problems.append("SIGNING_PKCS11_TOKEN_LABEL is empty")
        return problems

    def open(self, config: dict[str, Any]) -> pdf_seal.Sealer:
        if config.get("softhsm2_conf"):
            # Read by libsofthsm2 when it is loaded: must be in place before the first use.
            os.environ.setdefault("SOFTHSM2_CONF", config["softhsm2_conf"])
        return pdf_seal.Sealer.from_pkcs11(
            module=config["module"], token_label=config["token_label"], pin=config["pin"],
            key_label=config["key_label"], cert_label=config.get("cert_label", ""),
            extra_certs=pdf_seal.load_certificate_files(config.get("chain_paths", [])))


@registry.register("pkcs12")
class Pkcs12Backend(SigningBackend):
    verbose_name = "PKCS#12 file"

    def config_problems(self, config: dict[str, Any]) -> list[str]:
        path = config.get("pkcs12_path")
        if not path or not os.path.exists(path):
            return [f"PKCS#12 file not found: {path!r}"]
        return []

    def open(self, config: dict[str, Any]) -> pdf_seal.Sealer:
        data = Path(config["pkcs12_path"]).read_bytes()
        passphrase = config.get("passphrase") or None
        return pdf_seal.Sealer.from_pkcs12(
            data=data, passphrase=passphrase.encode() if passphrase else None,
            extra_certs=pdf_seal.load_certificate_files(config.get("chain_paths", [])))


@dataclass
class _Loaded:
    sealer: pdf_seal.Sealer
    pid: int
    key: str


_lock = threading.Lock()
_loaded: _Loaded | None = None


def get_sealer() -> pdf_seal.Sealer:
    """The process's loaded seal key, opened on first use."""
    global _loaded
    config = active_config()
    key = json.dumps(config, sort_keys=True, default=str)
    with _lock:
        if _loaded is not None and _loaded.pid == os.getpid() and _loaded.key == key:
            return _loaded.sealer
        if not config.get("backend"):
            raise pdf_seal.SealError("no seal key configured (SIGNING_SEAL_BACKEND)")
        backend = registry[config["backend"]]
        problems = backend.config_problems(config)
        if problems:
            raise pdf_seal.SealError("; ".join(problems))
        if _loaded is not None and _loaded.pid == os.getpid():
            _loaded.sealer.close()
        _loaded = _Loaded(sealer=backend.open(config), pid=os.getpid(), key=key)
        return _loaded.sealer


def reset_sealer() -> None:
    """Forget the loaded key (tests switch keys; a rotated key is picked up)."""
    global _loaded
    with _lock:
        if _loaded is not None and _loaded.pid == os.getpid():
            _loaded.sealer.close()
        _loaded = None


def trust_roots() -> list[Any]:
    return pdf_seal.load_certificate_files(active_config().get("trust_roots", []))


def check_config() -> list[CheckMessage]:
    config = active_config()
    if not config.get("backend") and settings.DEBUG:
        return []  # development: `make run` creates the key (signing.devkeys)
    if not config.get("backend"):
        return [Warning("No seal key is configured: documents cannot be issued.",
                        hint="Set SIGNING_SEAL_BACKEND (pkcs11 or pkcs12), or run `make run` once "
                             "to create a development key.", id="signing.W001")]
    if config["backend"] not in registry:
        return [Error(f"Unknown SIGNING_SEAL_BACKEND {config['backend']!r}.",
                      hint=f"One of: {', '.join(p.identifier for p in registry)}",
                      id="signing.E001")]
    messages: list[CheckMessage] = [
        Error(problem, id="signing.E002")
        for problem in registry[config["backend"]].config_problems(config)]
    if not config.get("trust_roots"):
        messages.append(Warning("SIGNING_TRUST_ROOTS is empty: the verification page cannot "
                                "establish trust in any seal.", id="signing.W002"))
    return messages
