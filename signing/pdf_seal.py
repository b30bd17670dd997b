"""The one module that talks to pyHanko (PAdES sealing, validation, remote CSC signing).

Everything crossing this boundary is bytes or a plain dataclass, so the rest of the signing
app (and the tests' expectations) never depend on pyHanko's object model.

Why the `Sealer` object: opening a PKCS#11 session (or decrypting a PKCS#12 file) costs far
more than one RSA-2048 signature, so a process keeps one loaded key and reuses it for every
document. The signature size is reserved up front (`bytes_reserved`): without it pyHanko signs
a dummy document first to measure the CMS, which doubles the work on a token.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
import threading
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar
from xml.sax.saxutils import escape

from asn1crypto import pem, x509
from pyhanko.pdf_utils.generic import IndirectObject as _IndirectObject
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.attributes import CMSAttributeProvider, SignedAttributeProviderSpec
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.general import SigningError
from pyhanko.sign.validation import (
    DocumentSecurityStore,
    EmbeddedPdfSignature,
    PdfSignatureStatus,
    SignatureCoverageLevel,
    async_validate_pdf_signature,
)
from pyhanko_certvalidator import ValidationContext

T = TypeVar("T")

# Hex-encoded CMS in /Contents: reserve twice the DER size we expect, with room to spare.
BYTES_RESERVED_BASIC = 8 * 1024 * 2
# With a timestamp token (the TSA's certificate chain travels inside it).
BYTES_RESERVED_TIMESTAMPED = 16 * 1024 * 2
SEAL_FIELD_NAME = "CitySeal"


def _outside_event_loop(function: Callable[[], T]) -> T:
    """Call `function` in a thread that runs no event loop: this one, or a helper thread
    when this one runs a loop (an async view; Playwright's sync API in the browser tests
    leaves its loop set as running in the test thread)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return function()
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function).result()


def run_async(factory: Callable[[], Awaitable[T]], *,
              runner: asyncio.Runner | None = None) -> T:
    """Run one of pyHanko's coroutines to completion from synchronous code.

    pyHanko's synchronous wrappers (`PdfSigner.sign_pdf`, `validate_pdf_signature`) build
    their coroutine first and then call `asyncio.run`, which refuses to start in a thread
    with a running event loop: the coroutine is then dropped unawaited ("coroutine
    'PdfSigner.async_sign_pdf' was never awaited") and the call fails. Here `factory`
    builds the coroutine only once the loop that awaits it is running, in a thread where
    that is possible. `runner` keeps one loop for many calls (a loaded seal key's
    signatures); without it each call has its own loop.
    """
    async def main() -> T:
        return await factory()

    def run() -> T:
        return runner.run(main()) if runner is not None else asyncio.run(main())

    return _outside_event_loop(run)


async def _released(operation: Awaitable[T], *contexts: ValidationContext | None) -> T:
    """Await `operation`, then close the network sessions the validation contexts opened for
    themselves (what pyHanko's synchronous wrappers do, inside the same loop)."""
    try:
        return await operation
    finally:
        for context in contexts:
            if context is not None:
                await context.aclose()


class SealError(Exception):
    """The seal could not be applied (token unavailable, TSA down, bad configuration)."""


# --- certificates ----------------------------------------------------------------------


@dataclass(frozen=True)
class CertificateInfo:
    subject: str
    issuer: str
    serial: str  # hexadecimal
    sha256_fingerprint: str  # hexadecimal
    not_before: datetime
    not_after: datetime


def certificate_info(cert: x509.Certificate) -> CertificateInfo:
    return CertificateInfo(
        subject=cert.subject.human_friendly,
        issuer=cert.issuer.human_friendly,
        serial=format(cert.serial_number, "x"),
        sha256_fingerprint=hashlib.sha256(cert.dump()).hexdigest(),
        not_before=cert.not_valid_before,
        not_after=cert.not_valid_after,
    )


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """Certificates from PEM (one or several) or DER bytes."""
    if pem.detect(data):
        return [x509.Certificate.load(der) for _type, _headers, der in pem.unarmor(data, True)]
    return [x509.Certificate.load(data)]


def load_certificate_files(paths: Iterable[str]) -> list[x509.Certificate]:
    certs: list[x509.Certificate] = []
    for path in paths:
        with open(path, "rb") as handle:
            certs.extend(load_certificates(handle.read()))
    return certs


# --- sealing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SealOptions:
    reason: str
    location: str
    contact_info: str = ""
    tsa_url: str = ""
    # Trust anchors used to fetch and embed revocation data (B-LT); empty: B-B or B-T only.
    ltv_trust_roots: Sequence[x509.Certificate] = ()
    timeout_seconds: int = 10


class _SealSignedAttributes(SignedAttributeProviderSpec):
    """The signed CMS attributes of a PAdES seal, through pyHanko's provider interface
    (`Signer.signed_attr_prov_spec`).

    PAdES puts the signing time in the signature dictionary and we ask for no CAdES
    extras, so the only attribute besides the content type and message digest (which
    pyHanko always adds) is signing-certificate-v2, the same for every document sealed with
    a certificate. pyHanko's default rebuilds it from Python values each time, and
    asn1crypto then re-serialises the issuer name field by field: a third of the seal's CPU
    time. This builds it once, and hands out copies parsed from its DER form (parsed values
    serialise by copying bytes).
    """

    def __init__(self, signing_cert: x509.Certificate) -> None:
        from pyhanko.sign.general import as_signing_certificate_v2

        self._der = as_signing_certificate_v2(signing_cert).dump()

    def signed_attr_providers(self, data_digest: bytes, digest_algorithm: str
                              ) -> Iterable[CMSAttributeProvider]:
        yield _SigningCertificateV2(self._der)


class _SigningCertificateV2(CMSAttributeProvider):
    attribute_type = "signing_certificate_v2"

    def __init__(self, der: bytes) -> None:
        self._der = der

    async def build_attr_value(self, dry_run: bool = False) -> Any:
        from asn1crypto import tsp

        return tsp.SigningCertificateV2.load(self._der)


class _KeptKeySigner(signers.SimpleSigner):
    """pyHanko's in-memory signer decodes the private key again for every signature; this
    one decodes it once (the PKCS#12 fallback then costs what a PKCS#11 token costs)."""

    _loaded_key: Any = None

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding, rsa

        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
        try:
            algorithm_name = mechanism.signature_algo
        except ValueError:
            algorithm_name = mechanism["algorithm"].native
        if algorithm_name != "rsassa_pkcs1v15":
            return super().sign_raw(data, digest_algorithm)
        if self._loaded_key is None:
            self._loaded_key = serialization.load_der_private_key(
                self.signing_key.dump(), password=None)
        if not isinstance(self._loaded_key, rsa.RSAPrivateKey):
            return super().sign_raw(data, digest_algorithm)
        algorithm = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(),
                     "sha512": hashes.SHA512()}.get(digest_algorithm)
        if algorithm is None:
            return super().sign_raw(data, digest_algorithm)
        return self._loaded_key.sign(data, padding.PKCS1v15(), algorithm)


_XMP_BEGIN = b"<?xpacket begin="
_XMP_END = b'<?xpacket end="r"?>'
_XMP_MODIFY_DATE = re.compile(rb"<xmp:ModifyDate>[^<]*</xmp:ModifyDate>")
_XMP_PRODUCER = re.compile(rb"<pdf:Producer>[^<]*</pdf:Producer>")


def _local_zone() -> Any:
    """The zone pyHanko stamps modification dates in (its 'now')."""
    import tzlocal

    return tzlocal.get_localzone()


class _SealWriter(IncrementalPdfFileWriter):
    """pyHanko's incremental writer, preparing the update once per write.

    pyHanko 0.38's `IncrementalPdfFileWriter.write` prepares the document (font subsets,
    `_update_meta`) and then calls the base class's `write`, which prepares it again: our
    PDF/A documents carry an XMP packet, so each seal parsed and re-serialised it twice (an
    eighth of the seal's CPU time). The second preparation changes nothing the first did
    not (same metadata, same instant to the second), so it is skipped.
    """

    _prepared = False

    def _update_meta(self) -> None:
        """pyHanko's metadata update (Info /Producer, XMP xmp:ModifyDate and pdf:Producer),
        without parsing the XMP packet when it is the one signing.pdfa wrote: reading the
        stream object, parsing the RDF and serialising it again was a quarter of the seal.
        The packet's two properties are replaced in its bytes, with the values pyHanko would
        write (the same clock reading and vendor name as the Info dictionary). Any other
        document (sealed before, or not ours) goes through pyHanko."""
        packet = self._own_xmp_packet()
        if packet is None:
            super()._update_meta()
            return
        from pyhanko.pdf_utils import generic
        from pyhanko.pdf_utils.metadata import model
        from pyhanko.pdf_utils.metadata.info import update_info_dict

        self._meta.last_modified = datetime.now(tz=_local_zone())
        info = self._info.get_object()
        if update_info_dict(self._meta, info, only_update_existing=True):
            self.mark_update(self._info)
        modified = self._meta.last_modified.replace(microsecond=0).isoformat()
        producer = escape(str(info.get("/Producer", model.VENDOR)))
        packet = _XMP_MODIFY_DATE.sub(
            f"<xmp:ModifyDate>{modified}</xmp:ModifyDate>".encode(), packet, count=1)
        packet = _XMP_PRODUCER.sub(
            f"<pdf:Producer>{producer}</pdf:Producer>".encode(), packet, count=1)
        ref = self.root.raw_get("/Metadata")
        self.objects[(ref.generation, ref.idnum)] = generic.StreamObject(
            {"/Type": generic.pdf_name("/Metadata"), "/Subtype": generic.pdf_name("/XML")},
            stream_data=packet)
        self.update_root()

    def _own_xmp_packet(self) -> bytes | None:
        """The XMP packet of a document fresh from signing.render (one revision, one
        unfiltered packet with each property once), else None."""
        if self._info is None or self.prev.xrefs.total_revisions != 1:
            return None
        if not isinstance(self.root.raw_get("/Metadata"), _IndirectObject):
            return None
        whole = self.input_stream.getvalue()
        start = whole.find(_XMP_BEGIN)
        if start < 0:
            return None
        end = whole.find(_XMP_END, start)
        if end < 0 or whole.find(_XMP_BEGIN, start + 1) >= 0:
            return None
        packet = whole[start:end + len(_XMP_END)]
        if (len(_XMP_MODIFY_DATE.findall(packet)) != 1
                or len(_XMP_PRODUCER.findall(packet)) != 1):
            return None
        return packet

    def _prep_dom_for_writing(self) -> None:
        if not self._prepared:
            super()._prep_dom_for_writing()
            self._prepared = True

    def write(self, stream: Any) -> None:
        self._prepared = False
        try:
            super().write(stream)
        finally:
            self._prepared = False


class Sealer:
    """A seal key kept loaded between documents. Thread-safe: one signature at a time,
    because a PKCS#11 session must not be used concurrently."""

    def __init__(self, signer: Any, *, pkcs11_session: Any = None) -> None:
        signer.signed_attr_prov_spec = _SealSignedAttributes(signer.signing_cert)
        self._signer = signer
        self._session = pkcs11_session
        self._lock = threading.Lock()
        # One event loop for all of this key's signatures (a loop per call costs more than
        # the PDF bookkeeping of a seal); used by one thread at a time, under the lock.
        self._runner = asyncio.Runner(loop_factory=asyncio.new_event_loop)
        self.certificate = signer.signing_cert
        self.info = certificate_info(signer.signing_cert)

    # Constructors -------------------------------------------------------------------
    @classmethod
    def from_pkcs12(cls, *, data: bytes, passphrase: bytes | None,
                    extra_certs: Sequence[x509.Certificate] = ()) -> Sealer:
        try:
            loaded = signers.SimpleSigner.load_pkcs12_data(
                data, other_certs=list(extra_certs), passphrase=passphrase)
        except Exception as exc:  # pyHanko wraps several parser errors differently
            raise SealError(f"cannot load the PKCS#12 seal key: {exc}") from exc
        if loaded is None:
            raise SealError("cannot load the PKCS#12 seal key (wrong passphrase?)")
        return cls(_KeptKeySigner(signing_cert=loaded.signing_cert,
                                  signing_key=loaded.signing_key,
                                  cert_registry=loaded.cert_registry))

    @classmethod
    def from_pkcs11(cls, *, module: str, token_label: str, pin: str, key_label: str,
                    cert_label: str = "", extra_certs: Sequence[x509.Certificate] = ()
                    ) -> Sealer:
        from pyhanko.config.pkcs11 import TokenCriteria
        from pyhanko.sign import pkcs11 as hanko_pkcs11

        try:
            session = hanko_pkcs11.open_pkcs11_session(
                module, token_criteria=TokenCriteria(label=token_label), user_pin=pin)
            signer = hanko_pkcs11.PKCS11Signer(
                session, key_label=key_label, cert_label=cert_label or key_label,
                ca_chain=list(extra_certs) or None, other_certs_to_pull=None,
                bulk_fetch=False)
            # Fetch the certificate now, so a wrong label fails at start-up, not mid-request.
            _ = signer.signing_cert
        except Exception as exc:
            raise SealError(f"cannot open the PKCS#11 seal key: {exc}") from exc
        return cls(signer, pkcs11_session=session)

    def __enter__(self) -> Sealer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # Operations ---------------------------------------------------------------------
    def seal(self, pdf: bytes, *, options: SealOptions) -> bytes:
        """A PAdES signature on `pdf`: B-B; B-T with a TSA; B-LT with a TSA and trust roots
        (the OCSP responses and CRLs are fetched now and embedded in the DSS)."""
        timestamper = None
        if options.tsa_url:
            from pyhanko.sign.timestamps import HTTPTimeStamper

            timestamper = HTTPTimeStamper(options.tsa_url, timeout=options.timeout_seconds)
        ltv = bool(options.tsa_url and options.ltv_trust_roots)
        meta = signers.PdfSignatureMetadata(
            field_name=SEAL_FIELD_NAME,
            reason=options.reason,
            location=options.location,
            contact_info=options.contact_info or None,
            subfilter=fields.SigSeedSubFilter.PADES,
            md_algorithm="sha256",
            embed_validation_info=ltv,
            validation_context=(
                # Tolerate clock skew with the OCSP responder ("response too recent").
                ValidationContext(trust_roots=list(options.ltv_trust_roots),
                                  allow_fetching=True, revocation_mode="hard-fail",
                                  time_tolerance=timedelta(minutes=2))
                if ltv else None),
        )
        reserved = BYTES_RESERVED_TIMESTAMPED if timestamper else BYTES_RESERVED_BASIC

        async def sign() -> io.BytesIO:
            writer = _SealWriter(io.BytesIO(pdf), strict=False)
            pdf_signer = signers.PdfSigner(meta, signer=self._signer, timestamper=timestamper)
            return await _released(pdf_signer.async_sign_pdf(writer, bytes_reserved=reserved),
                                   meta.validation_context)

        try:
            with self._lock:
                out = run_async(sign, runner=self._runner)
        except (SigningError, PdfError, OSError, ValueError) as exc:
            raise SealError(str(exc)) from exc
        except Exception as exc:  # network errors from the TSA / OCSP fetchers
            raise SealError(f"{type(exc).__name__}: {exc}") from exc
        return out.getvalue()

    def raw_sign(self, data: bytes) -> bytes:
        """One raw signature with the loaded key (the benchmark's floor)."""
        with self._lock:
            return run_async(lambda: self._signer.async_sign_raw(data, "sha256"),
                             runner=self._runner)

    def close(self) -> None:
        """Close the key's event loop and PKCS#11 session (a process's loaded key lives
        until the process ends; a key opened for one job is closed after it)."""
        with self._lock:
            _outside_event_loop(self._runner.close)
        if self._session is not None:
            try:
                self._session.close()
            finally:
                self._session = None


# --- validation ------------------------------------------------------------------------


class SealOutcome(StrEnum):
    VALID = "valid"  # intact, trusted, whole document covered
    NOT_PDF = "not_pdf"
    DAMAGED = "damaged"  # looks like a PDF but cannot be parsed
    NO_SIGNATURE = "no_signature"
    ALTERED = "altered"  # the signed bytes no longer match their signature
    MODIFIED_AFTER_SIGNING = "modified_after_signing"  # intact, but content was added later
    UNTRUSTED = "untrusted"  # sealed by someone whose chain does not reach our trust anchor
    REVOKED_CERTIFICATE = "revoked_certificate"


@dataclass(frozen=True)
class SealCheck:
    outcome: SealOutcome
    intact: bool = False
    signature_valid: bool = False
    trusted: bool = False
    covers_whole_document: bool = False
    signer: CertificateInfo | None = None
    signed_at: datetime | None = None  # the time the signer claims
    timestamp_at: datetime | None = None  # the TSA's time, when there is a timestamp
    timestamp_trusted: bool = False
    revocation_info_embedded: bool = False
    signature_count: int = 0
    detail: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.outcome == SealOutcome.VALID


def looks_like_pdf(data: bytes) -> bool:
    return data[:1024].lstrip().startswith(b"%PDF-") or b"%PDF-" in data[:1024]


def inspect_pdf(data: bytes, *, trust_roots: Sequence[x509.Certificate],
                allow_fetching: bool = False) -> SealCheck:
    """What anyone can learn from the file alone: is it a PDF, is it signed, is the last
    signature intact, does it cover the whole file, does its chain reach `trust_roots`.

    Never raises on bad input: a broken file is an answer, not an error.
    """
    if not looks_like_pdf(data):
        return SealCheck(outcome=SealOutcome.NOT_PDF)
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        signatures = reader.embedded_regular_signatures
    except Exception as exc:
        return SealCheck(outcome=SealOutcome.DAMAGED, detail=f"{type(exc).__name__}: {exc}")
    if not signatures:
        return SealCheck(outcome=SealOutcome.NO_SIGNATURE)
    # The city's seal is the first signature; anything signed later is someone else's.
    embedded = signatures[0]
    try:
        dss = DocumentSecurityStore.read_dss(reader)
    except Exception:
        dss = None
    context_kwargs: dict[str, Any] = {
        "trust_roots": list(trust_roots),
        "allow_fetching": allow_fetching,
        "revocation_mode": "soft-fail",
    }
    try:
        context = (dss.as_validation_context(context_kwargs) if dss is not None
                   else ValidationContext(**context_kwargs))
        revinfo = bool(dss is not None and (list(dss.ocsps) or list(dss.crls)))
    except Exception:
        context, revinfo = ValidationContext(**context_kwargs), False
    try:
        status = validate_signature(embedded, context)
    except Exception as exc:
        # A signature dictionary whose contents cannot even be parsed.
        return SealCheck(outcome=SealOutcome.ALTERED, signature_count=len(signatures),
                         detail=f"{type(exc).__name__}: {exc}")
    signer = certificate_info(status.signing_cert) if status.signing_cert else None
    ts = status.timestamp_validity
    # Whole file, or only validation data (DSS, document timestamps) appended after it:
    # that is what B-LT/B-LTA add and it does not change what the reader sees.
    whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE or (
        status.coverage == SignatureCoverageLevel.ENTIRE_REVISION
        and status.modification_level in (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES)
    )
    problems: list[str] = []
    if not status.intact or not status.valid:
        outcome = SealOutcome.ALTERED
    elif status.revoked:
        outcome = SealOutcome.REVOKED_CERTIFICATE
    elif not status.trusted:
        outcome = SealOutcome.UNTRUSTED
    elif not whole:
        outcome = SealOutcome.MODIFIED_AFTER_SIGNING
    else:
        outcome = SealOutcome.VALID
    if ts is not None and not (ts.intact and ts.valid):
        problems.append("timestamp_invalid")
    return SealCheck(
        outcome=outcome,
        intact=bool(status.intact),
        signature_valid=bool(status.valid),
        trusted=bool(status.trusted),
        covers_whole_document=whole,
        signer=signer,
        signed_at=status.signer_reported_dt,
        timestamp_at=ts.timestamp if ts is not None else None,
        timestamp_trusted=bool(ts is not None and ts.intact and ts.valid and ts.trusted),
        revocation_info_embedded=revinfo,
        signature_count=len(signatures),
        detail=status.summary(),
        problems=problems,
    )


def validate_signature(embedded: EmbeddedPdfSignature, context: ValidationContext
                       ) -> PdfSignatureStatus:
    """pyHanko's validation of one embedded signature (integrity, chain, diff analysis)."""
    return run_async(lambda: _released(async_validate_pdf_signature(
        embedded, signer_validation_context=context), context))


def validate_ltv(data: bytes, *, trust_roots: Sequence[x509.Certificate]) -> SealCheck:
    """Validation with no network at all: passes only when the document carries everything
    a verifier needs years later (B-LT: timestamp + embedded revocation data)."""
    return inspect_pdf(data, trust_roots=trust_roots, allow_fetching=False)


# --- citizens' signatures through a remote CSC service -----------------------------------


@dataclass(frozen=True)
class RemoteSignatureRequest:
    service_url: str
    credential_id: str
    oauth_token: str = ""
    pin: str = ""
    otp: str = ""
    reason: str = ""
    location: str = ""
    field_name: str = "CitizenSignature"
    timeout_seconds: int = 30


def remote_sign(pdf: bytes, *, request: RemoteSignatureRequest) -> tuple[bytes, CertificateInfo]:
    """Sign `pdf` with a credential held by a CSC (Cloud Signature Consortium API v1)
    service; returns the signed PDF and the signer's certificate."""
    return run_async(lambda: _remote_sign(pdf, request))


async def _remote_sign(pdf: bytes, req: RemoteSignatureRequest) -> tuple[bytes, CertificateInfo]:
    import aiohttp
    from pyhanko.sign.signers import csc_signer

    class _Authorizer(csc_signer.CSCAuthorizationManager):
        """Asks `credentials/authorize` for a SAD bound to the exact hashes to sign (SCAL2),
        passing the PIN/OTP the citizen typed when the service wants one."""

        async def authorize_signature(self, hash_b64s: list[str]
                                      ) -> csc_signer.CSCAuthorizationInfo:
            body = self.format_csc_auth_request(
                pin=req.pin or None, otp=req.otp or None, hash_b64s=hash_b64s)
            async with session.post(
                self.csc_session_info.endpoint_url("credentials/authorize"),
                headers=self.auth_headers, json=body, raise_for_status=True,
                timeout=aiohttp.ClientTimeout(total=req.timeout_seconds),
            ) as response:
                return self.parse_csc_auth_response(await response.json())

    info = csc_signer.CSCServiceSessionInfo(
        service_url=req.service_url.rstrip("/"), credential_id=req.credential_id,
        oauth_token=req.oauth_token or None)
    try:
        async with aiohttp.ClientSession() as session:
            credential = await csc_signer.fetch_certs_in_csc_credential(
                session, info, timeout=req.timeout_seconds)
            signer = csc_signer.CSCSigner(session, auth_manager=_Authorizer(info, credential))
            meta = signers.PdfSignatureMetadata(
                field_name=req.field_name, reason=req.reason or None,
                location=req.location or None, subfilter=fields.SigSeedSubFilter.PADES,
                md_algorithm="sha256")
            writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
            out = await signers.PdfSigner(meta, signer=signer).async_sign_pdf(
                writer, bytes_reserved=BYTES_RESERVED_BASIC)
    except Exception as exc:
        raise SealError(f"remote signature failed: {type(exc).__name__}: {exc}") from exc
    return out.getvalue(), certificate_info(credential.signing_cert)
