"""Verification of a Belgian eID card's answer to a terminal's challenge.

The terminal asks the API for a nonce, has the card sign it with its authentication key and
posts the signature with the card's certificate chain (authentication certificate first,
then the citizen CA). We never trust a national number the terminal asserts: we check

1. the signature over the nonce with the certificate's public key, as the cards compute it
   (RSA PKCS#1 v1.5 with SHA-256 on cards up to applet 1.7, ECDSA P-384 with SHA-384 on
   applet 1.8 cards; raw r||s as the card returns it or DER);
2. the chain up to one of the configured trust anchors (KIOSK_EID_TRUST_ANCHORS: in
   production the Belgium Root CA certificates), validity dates at this moment, the
   digitalSignature key usage, and revocation as configured — with pyhanko-certvalidator,
   a maintained RFC 5280 path validator;
3. the national register number in the subject serialNumber attribute, with its checksum
   (stdnum.be.nn).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import concurrent.futures
import functools
import hashlib
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator import errors as pv_errors
from stdnum.be import nn

from core.logging import get_logger
from kiosk_api import errors

log = get_logger(__name__)

MAX_CHAIN_LENGTH = 4
_DER = Encoding.DER


@dataclass(frozen=True)
class EidIdentity:
    national_number: str
    given_name: str
    surname: str
    certificate_fingerprint: str
    not_after: datetime


def decode_base64(value: str, *, error: type[Exception]) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise error() from exc


def _load_certificate(data: bytes) -> x509.Certificate:
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise errors.CertificateInvalid() from exc


@functools.lru_cache(maxsize=8)
def _trust_anchors(paths: tuple[str, ...]) -> tuple[asn1_x509.Certificate, ...]:
    anchors = []
    for path in paths:
        data = Path(path).read_bytes()
        blocks = [b"-----BEGIN CERTIFICATE-----" + part
                  for part in data.split(b"-----BEGIN CERTIFICATE-----")[1:]] or [data]
        for block in blocks:
            cert = _load_certificate(block)
            anchors.append(asn1_x509.Certificate.load(cert.public_bytes(_DER)))
    return tuple(anchors)


def configured_trust_anchors() -> tuple[asn1_x509.Certificate, ...]:
    paths = tuple(settings.KIOSK_EID_TRUST_ANCHORS)
    try:
        if not paths:
            raise ImproperlyConfigured("KIOSK_EID_TRUST_ANCHORS is empty")
        return _trust_anchors(paths)
    except (OSError, ImproperlyConfigured, errors.CertificateInvalid) as exc:
        log.error("kiosk.eid_trust_anchors_unusable", paths=paths, error=str(exc))
        raise errors.EidUnavailable() from exc


def verify_card_signature(certificate: x509.Certificate, message: bytes, signature: bytes) -> None:
    key = certificate.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            size = (key.curve.key_size + 7) // 8
            if len(signature) == 2 * size:  # raw r||s, as the card's applet returns it
                signature = encode_dss_signature(int.from_bytes(signature[:size], "big"),
                                                 int.from_bytes(signature[size:], "big"))
            algorithm = hashes.SHA384() if key.curve.key_size >= 384 else hashes.SHA256()
            key.verify(signature, message, ec.ECDSA(algorithm))
        else:
            raise errors.CertificateUntrusted()
    except (InvalidSignature, ValueError) as exc:
        raise errors.SignatureInvalid() from exc


def _run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run pyhanko-certvalidator's coroutine from synchronous code, even when this thread
    already runs an event loop (an ASGI server, a browser test)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def validate_chain(leaf: x509.Certificate, intermediates: Sequence[x509.Certificate], *,
                   moment: datetime | None = None) -> None:
    to_asn1 = [asn1_x509.Certificate.load(c.public_bytes(_DER)) for c in intermediates]
    context = ValidationContext(
        trust_roots=list(configured_trust_anchors()),
        moment=moment or timezone.now(),
        allow_fetching=settings.KIOSK_EID_FETCH_REVOCATION,
        revocation_mode=settings.KIOSK_EID_REVOCATION_MODE,
    )
    validator = CertificateValidator(asn1_x509.Certificate.load(leaf.public_bytes(_DER)),
                                     intermediate_certs=to_asn1, validation_context=context)
    try:
        _run(validator.async_validate_usage({"digital_signature"}))
    except (pv_errors.ExpiredError, pv_errors.NotYetValidError) as exc:
        raise errors.CertificateExpired() from exc
    except pv_errors.RevokedError as exc:
        raise errors.CertificateRevoked() from exc
    except (pv_errors.PathBuildingError, pv_errors.PathValidationError,
            pv_errors.InvalidCertificateError, pv_errors.DisallowedAlgorithmError) as exc:
        raise errors.CertificateUntrusted() from exc
    except ValueError as exc:  # malformed extensions that asn1crypto cannot parse
        raise errors.CertificateInvalid() from exc


def _attribute(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    values = name.get_attributes_for_oid(oid)
    return str(values[0].value) if values else ""


def verify_eid_answer(*, nonce: bytes, signature: bytes,
                      chain: Sequence[bytes]) -> EidIdentity:
    """The identity proven by the card, or a kiosk_api.errors exception saying why not."""
    if not chain or len(chain) > MAX_CHAIN_LENGTH:
        raise errors.CertificateInvalid()
    certificates = [_load_certificate(item) for item in chain]
    leaf = certificates[0]
    verify_card_signature(leaf, nonce, signature)
    validate_chain(leaf, certificates[1:])
    number = nn.compact(_attribute(leaf.subject, NameOID.SERIAL_NUMBER))
    if not nn.is_valid(number):
        raise errors.NationalNumberInvalid()
    return EidIdentity(
        national_number=number,
        given_name=_attribute(leaf.subject, NameOID.GIVEN_NAME),
        surname=_attribute(leaf.subject, NameOID.SURNAME),
        certificate_fingerprint=hashlib.sha256(leaf.public_bytes(_DER)).hexdigest(),
        not_after=leaf.not_valid_after_utc,
    )
