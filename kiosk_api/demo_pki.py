"""A Belgian-eID-like test PKI built with `cryptography`, for the tests, the benchmark and
`kiosk_demo` (never trusted in production, where KIOSK_EID_TRUST_ANCHORS lists the real
Belgium Root CAs): a root CA ("Belgium Root CA"-like) -> a citizen CA -> the card's authentication certificate, whose subject serialNumber carries
the national register number as on a real card; and a foreign authority for negative tests."""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

NOW = dt.datetime.now(dt.UTC)


def _name(**attrs: str) -> x509.Name:
    oids = {"C": NameOID.COUNTRY_NAME, "O": NameOID.ORGANIZATION_NAME,
            "CN": NameOID.COMMON_NAME, "SN": NameOID.SURNAME, "GN": NameOID.GIVEN_NAME,
            "serialNumber": NameOID.SERIAL_NUMBER}
    return x509.Name([x509.NameAttribute(oids[k], v) for k, v in attrs.items()])


def _rsa():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Authority:
    name: x509.Name
    key: object
    cert: x509.Certificate

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(Encoding.DER)

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(Encoding.PEM)


def make_root(cn: str, *, country: str = "BE") -> Authority:
    key = _rsa()
    name = _name(C=country, CN=cn)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW - dt.timedelta(days=3650))
            .not_valid_after(NOW + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                         False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    return Authority(name=name, key=key, cert=cert)


def make_sub_ca(parent: Authority, cn: str) -> Authority:
    key = _rsa()
    name = _name(C="BE", CN=cn)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(parent.name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW - dt.timedelta(days=1000))
            .not_valid_after(NOW + dt.timedelta(days=2000))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                         False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                parent.key.public_key()), critical=False)
            .sign(parent.key, hashes.SHA256()))
    return Authority(name=name, key=key, cert=cert)


@dataclass
class Card:
    """An eID card: its authentication key and certificate, and the citizen CA above it."""

    key: object
    cert: x509.Certificate
    chain: list[x509.Certificate] = field(default_factory=list)

    def sign(self, nonce_b64: str, *, raw_ecdsa: bool = True) -> str:
        message = base64.b64decode(nonce_b64)
        if isinstance(self.key, rsa.RSAPrivateKey):
            signature = self.key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        else:
            der = self.key.sign(message, ec.ECDSA(hashes.SHA384()))
            if raw_ecdsa:  # what the card applet returns: r||s
                r, s = decode_dss_signature(der)
                size = (self.key.curve.key_size + 7) // 8
                der = r.to_bytes(size, "big") + s.to_bytes(size, "big")
            signature = der
        return base64.b64encode(signature).decode()

    def certificates(self) -> list[str]:
        return [base64.b64encode(c.public_bytes(Encoding.DER)).decode()
                for c in [self.cert, *self.chain]]


def make_card(ca: Authority, *, national_number: str, given_name: str = "Marie",
              surname: str = "Dupont", key_kind: str = "rsa",
              not_before: dt.datetime | None = None,
              not_after: dt.datetime | None = None) -> Card:
    key = _rsa() if key_kind == "rsa" else ec.generate_private_key(ec.SECP384R1())
    subject = _name(C="BE", CN=f"{given_name} {surname} (Authentication)", SN=surname,
                    GN=given_name, serialNumber=national_number)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca.name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(not_before or NOW - dt.timedelta(days=300))
            .not_valid_after(not_after or NOW + dt.timedelta(days=3000))
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False,
                                         False), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca.key.public_key()), critical=False)
            .sign(ca.key, hashes.SHA256()))
    return Card(key=key, cert=cert, chain=[ca.cert])
