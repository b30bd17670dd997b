"""The development seal key, created on the first `make run` (never used in production).

A throwaway root CA and a seal certificate under var/signing/. Where Debian's SoftHSM is
installed the key goes into a fresh SoftHSM token (so development exercises the PKCS#11 path
production uses with an HSM); elsewhere it is a PKCS#12 file. PINs and passphrases are random,
generated here, and kept in var/signing/dev-key.json (mode 0600), which signing.backends reads
when SIGNING_SEAL_BACKEND is empty.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import secrets
import shutil
import subprocess
from pathlib import Path

from django.conf import settings

logger = logging.getLogger("signing.devkeys")

TOKEN_LABEL = "guichet-dev-seal"  # noqa: S105 - a label, not a secret
KEY_LABEL = "seal"
KEY_ID = b"\x01"


def _folder() -> Path:
    return Path(settings.VAR_DIR) / "signing"


def _make_certificates():
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root_name = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "BE"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Guichet development"),
        x509.NameAttribute(NameOID.COMMON_NAME, "Guichet development root CA (not trusted)"),
    ])
    root = (x509.CertificateBuilder().subject_name(root_name).issuer_name(root_name)
            .public_key(root_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()),
                           critical=False)
            .sign(root_key, hashes.SHA256()))
    seal_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    seal_name = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "BE"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Ville de Bruxelles (development)"),
        x509.NameAttribute(NameOID.COMMON_NAME, "Guichet development seal"),
    ])
    seal = (x509.CertificateBuilder().subject_name(seal_name).issuer_name(root_name)
            .public_key(seal_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3 * 365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=True, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                root_key.public_key()), critical=False)
            .sign(root_key, hashes.SHA256()))
    return root, seal_key, seal


def softhsm_available() -> bool:
    return bool(shutil.which("softhsm2-util")) and os.path.exists(
        settings.SIGNING_PKCS11_MODULE)


def _into_softhsm(folder: Path, seal_key, seal) -> dict:
    """A new SoftHSM token in var/signing/softhsm holding the key and its certificate."""
    import pkcs11
    from cryptography.hazmat.primitives import serialization
    from pkcs11 import Attribute, ObjectClass
    from pkcs11.util.rsa import decode_rsa_private_key
    from pkcs11.util.x509 import decode_x509_certificate

    tokens = folder / "softhsm" / "tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    conf = folder / "softhsm" / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\n"
                    "log.level = ERROR\n")
    # The library reads SOFTHSM2_CONF when first loaded in this process.
    os.environ["SOFTHSM2_CONF"] = str(conf)
    pin = secrets.token_hex(8)
    so_pin = secrets.token_hex(8)
    subprocess.run(  # noqa: S603 - fixed program and arguments
        [shutil.which("softhsm2-util") or "softhsm2-util", "--init-token", "--free", "--label",
         TOKEN_LABEL, "--pin", pin, "--so-pin", so_pin],
        check=True, capture_output=True, env={**os.environ, "SOFTHSM2_CONF": str(conf)})
    lib = pkcs11.lib(settings.SIGNING_PKCS11_MODULE)
    token = lib.get_token(token_label=TOKEN_LABEL)
    der_key = seal_key.private_bytes(serialization.Encoding.DER,
                                      serialization.PrivateFormat.TraditionalOpenSSL,
                                      serialization.NoEncryption())
    with token.open(rw=True, user_pin=pin) as session:
        key_attrs = decode_rsa_private_key(der_key)
        key_attrs.update({Attribute.TOKEN: True, Attribute.LABEL: KEY_LABEL,
                          Attribute.ID: KEY_ID, Attribute.SENSITIVE: True,
                          Attribute.EXTRACTABLE: False, Attribute.SIGN: True,
                          Attribute.PRIVATE: True})
        session.create_object(key_attrs)
        cert_attrs = decode_x509_certificate(seal.public_bytes(serialization.Encoding.DER))
        cert_attrs.update({Attribute.TOKEN: True, Attribute.LABEL: KEY_LABEL,
                           Attribute.ID: KEY_ID, Attribute.CLASS: ObjectClass.CERTIFICATE})
        session.create_object(cert_attrs)
    return {"backend": "pkcs11", "module": settings.SIGNING_PKCS11_MODULE,
            "token_label": TOKEN_LABEL, "pin": pin, "key_label": KEY_LABEL,
            "cert_label": KEY_LABEL, "softhsm2_conf": str(conf)}


def _into_pkcs12(folder: Path, seal_key, seal, root) -> dict:
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

    passphrase = secrets.token_urlsafe(18)
    path = folder / "seal.p12"
    path.write_bytes(pkcs12.serialize_key_and_certificates(
        b"guichet-dev-seal", seal_key, seal, [root], BestAvailableEncryption(passphrase.encode())))
    path.chmod(0o600)
    return {"backend": "pkcs12", "pkcs12_path": str(path), "passphrase": passphrase}


def ensure_dev_key(*, force: bool = False) -> dict:
    """Create the development seal key once; later calls return its configuration."""
    from cryptography.hazmat.primitives import serialization

    from signing import backends

    if settings.SIGNING_SEAL_BACKEND and not force:
        return {}  # a real key is configured; nothing to create
    config_path = backends.dev_config_path()
    if config_path.exists() and not force:
        config = json.loads(config_path.read_text())
        if config.get("softhsm2_conf"):
            os.environ.setdefault("SOFTHSM2_CONF", config["softhsm2_conf"])
        return config
    folder = _folder()
    if force and folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    root, seal_key, seal = _make_certificates()
    root_path = folder / "dev-root.pem"
    root_path.write_bytes(root.public_bytes(serialization.Encoding.PEM))
    (folder / "dev-seal.pem").write_bytes(seal.public_bytes(serialization.Encoding.PEM))
    if softhsm_available():
        try:
            config = _into_softhsm(folder, seal_key, seal)
        except Exception as exc:  # a broken SoftHSM install must not stop `make run`
            logger.warning("SoftHSM token creation failed (%s); using a PKCS#12 file", exc)
            config = _into_pkcs12(folder, seal_key, seal, root)
    else:
        config = _into_pkcs12(folder, seal_key, seal, root)
    config.update({"trust_roots": [str(root_path)], "chain_paths": [str(root_path)],
                   "created_at": dt.datetime.now(dt.UTC).isoformat()})
    config_path.write_text(json.dumps(config, indent=2))
    config_path.chmod(0o600)
    backends.reset_sealer()
    logger.info("development seal key created (%s) under %s", config["backend"], folder)
    return config
