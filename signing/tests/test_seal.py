"""Sealing with pyHanko (PKCS#12 and PKCS#11/SoftHSM), B-B and B-LT, checked with pyHanko's
own validator against the test trust root."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.utils import timezone

from signing import backends, pdf_seal
from signing.render import PersonFacts, RenderInput, render_document
from signing.tests.conftest import PKCS12_PASSPHRASE

OPTIONS = pdf_seal.SealOptions(reason="Test seal", location="Bruxelles")


def _pdf() -> bytes:
    import datetime as dt

    return render_document(RenderInput(
        template="residence", language="fr", procedure_code="main-residence",
        procedure_name="Certificat de résidence principale", case_reference="BXL-2026-000009",
        issued_at=timezone.now(), verification_code="ABCD-EFGH-IJKL-MNOP-QRST",
        verify_url="http://testserver/fr/verify/?code=ABCDEFGHIJKLMNOPQRST",
        person=PersonFacts(full_name="Marie Dupont", number="85.07.30-033.28",
                           birth_date=dt.date(1985, 7, 30))))


def _pyhanko_status(pdf: bytes, root, **context):
    """pyHanko's validator, without our reading of its answer (inspect_pdf)."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko_certvalidator import ValidationContext

    reader = PdfFileReader(io.BytesIO(pdf))
    (sig,) = reader.embedded_signatures
    # Through the helper: a browser test may have left an event loop running in this thread.
    return pdf_seal.validate_signature(sig, ValidationContext(trust_roots=[root], **context))


def test_a_pkcs12_seal_is_pades_and_validates_against_the_test_root(seal_pkcs12):
    sealed = backends.get_sealer().seal(_pdf(), options=OPTIONS)
    status = _pyhanko_status(sealed, seal_pkcs12.cert("root"), allow_fetching=False)
    assert status.intact and status.valid and status.trusted
    assert status.bottom_line
    assert b"/ETSI.CAdES.detached" in sealed  # PAdES baseline, not adbe.pkcs7
    check = pdf_seal.inspect_pdf(sealed, trust_roots=[seal_pkcs12.cert("root")])
    assert check.outcome == pdf_seal.SealOutcome.VALID
    assert "Cachet" in check.signer.subject


def test_the_signature_space_is_reserved_so_pyhanko_signs_only_once(seal_pkcs12, monkeypatch):
    sealer = backends.get_sealer()
    calls = []
    original = type(sealer._signer).async_sign_raw

    async def counting(self, data, digest_algorithm, dry_run=False):
        calls.append(dry_run)
        return await original(self, data, digest_algorithm, dry_run)

    monkeypatch.setattr(type(sealer._signer), "async_sign_raw", counting)
    sealer.seal(_pdf(), options=OPTIONS)
    assert calls == [False]


def test_the_loaded_key_is_kept_between_documents(seal_pkcs12):
    assert backends.get_sealer() is backends.get_sealer()


def test_a_one_byte_change_is_detected(seal_pkcs12):
    sealed = bytearray(backends.get_sealer().seal(_pdf(), options=OPTIONS))
    # Flip one byte inside the signed content (the document's first page stream).
    position = sealed.index(b"stream") + 40
    sealed[position] ^= 0x01
    check = pdf_seal.inspect_pdf(bytes(sealed), trust_roots=[seal_pkcs12.cert("root")])
    assert check.outcome in (pdf_seal.SealOutcome.ALTERED, pdf_seal.SealOutcome.DAMAGED)
    assert not check.ok


def test_content_appended_after_sealing_is_reported(seal_pkcs12):
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    sealed = backends.get_sealer().seal(_pdf(), options=OPTIONS)
    writer = IncrementalPdfFileWriter(io.BytesIO(sealed))
    writer.root["/Lang"] = generic.pdf_string("en")
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    check = pdf_seal.inspect_pdf(out.getvalue(), trust_roots=[seal_pkcs12.cert("root")])
    assert check.outcome == pdf_seal.SealOutcome.MODIFIED_AFTER_SIGNING
    assert check.intact and not check.covers_whole_document


def test_a_pdf_sealed_by_someone_else_is_not_trusted(seal_pkcs12, pki):
    with pdf_seal.Sealer.from_pkcs12(
            data=Path(pki.write_pkcs12("signer", arch="stranger")).read_bytes(),
            passphrase=PKCS12_PASSPHRASE.encode()) as stranger:
        sealed = stranger.seal(_pdf(), options=OPTIONS)
    check = pdf_seal.inspect_pdf(sealed, trust_roots=[pki.cert("root")])
    assert check.intact and not check.trusted
    assert check.outcome == pdf_seal.SealOutcome.UNTRUSTED


@pytest.mark.slow
def test_with_tsa_and_ocsp_the_seal_is_b_lt_and_validates_offline(seal_ltv):
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import DocumentSecurityStore

    from signing.services import seal_level, seal_options

    assert seal_level() == "B-LT"
    sealed = backends.get_sealer().seal(_pdf(), options=seal_options("fr"))
    dss = DocumentSecurityStore.read_dss(PdfFileReader(io.BytesIO(sealed)))
    assert list(dss.ocsps), "the OCSP response of the seal certificate is embedded"
    # No network: everything needed is inside the file.
    check = pdf_seal.validate_ltv(sealed, trust_roots=[seal_ltv.cert("root")])
    assert check.outcome == pdf_seal.SealOutcome.VALID
    assert check.timestamp_at is not None and check.timestamp_trusted
    assert check.revocation_info_embedded
    # And pyHanko's validator agrees with revocation checking *required* (hard-fail) and
    # no network: only the embedded OCSP/CRL data can satisfy it.
    reader = PdfFileReader(io.BytesIO(sealed))
    context = dss.as_validation_context({"trust_roots": [seal_ltv.cert("root")],
                                         "allow_fetching": False,
                                         "revocation_mode": "hard-fail"})
    status = pdf_seal.validate_signature(reader.embedded_signatures[0], context)
    assert status.intact and status.valid and status.trusted


@pytest.mark.slow
def test_a_seal_made_with_a_revoked_certificate_is_reported_revoked(pki_services, pki):
    with pdf_seal.Sealer.from_pkcs12(
            data=pki.arch().package_pkcs12("seal-revoked", key_label="seal",
                                           password=b"x"), passphrase=b"x") as revoked:
        sealed = revoked.seal(_pdf(), options=OPTIONS)
    check = pdf_seal.inspect_pdf(sealed, trust_roots=[pki.cert("root")], allow_fetching=True)
    assert check.outcome == pdf_seal.SealOutcome.REVOKED_CERTIFICATE


def test_the_pkcs11_seal_on_softhsm_validates(seal_pkcs11):
    sealer = backends.get_sealer()
    first = sealer.seal(_pdf(), options=OPTIONS)
    second = backends.get_sealer().seal(_pdf(), options=OPTIONS)  # same open session
    assert backends.get_sealer() is sealer
    for sealed in (first, second):
        check = pdf_seal.inspect_pdf(sealed, trust_roots=[seal_pkcs11.cert("root")])
        assert check.outcome == pdf_seal.SealOutcome.VALID
    assert sealer.info.sha256_fingerprint == pdf_seal.certificate_info(
        seal_pkcs11.cert("seal")).sha256_fingerprint


def test_a_wrong_pkcs11_pin_is_a_seal_error_not_a_crash(seal_pkcs11, settings):
    settings.SIGNING_PKCS11_PIN = "0000"
    backends.reset_sealer()
    with pytest.raises(pdf_seal.SealError):
        backends.get_sealer()


def test_check_config_reports_a_missing_key(settings):
    settings.SIGNING_SEAL_BACKEND = "pkcs12"
    settings.SIGNING_PKCS12_PATH = "/nonexistent.p12"
    ids = {m.id for m in backends.check_config()}
    assert "signing.E002" in ids
    settings.SIGNING_SEAL_BACKEND = "nope"
    assert {m.id for m in backends.check_config()} == {"signing.E001"}


def test_sealing_and_checking_inside_a_running_event_loop_awaits_every_coroutine(seal_pkcs12):
    """pyHanko's synchronous wrappers drop their coroutine unawaited ("coroutine
    'PdfSigner.async_sign_pdf' was never awaited") when the calling thread runs an event
    loop, as an async view or Playwright's sync API does; ours must not."""
    import asyncio
    import gc
    import warnings
    from concurrent.futures import ThreadPoolExecutor

    sealer = backends.get_sealer()
    pdf = _pdf()

    async def in_a_loop():
        sealed = sealer.seal(pdf, options=OPTIONS)
        return sealed, sealer.raw_sign(b"data"), pdf_seal.inspect_pdf(
            sealed, trust_roots=[seal_pkcs12.cert("root")])

    # In a thread of its own: after a browser test, this one already looks like it runs
    # Playwright's loop, and asyncio.run would refuse to start here.
    with warnings.catch_warnings(record=True) as caught, ThreadPoolExecutor(1) as pool:
        warnings.simplefilter("always")
        sealed, raw, check = pool.submit(asyncio.run, in_a_loop()).result()
        gc.collect()
    assert check.outcome == pdf_seal.SealOutcome.VALID
    assert len(raw) == 256  # RSA-2048
    assert not [w for w in caught if "never awaited" in str(w.message)]
    # And the same key, outside any loop, keeps working with its own loop.
    assert pdf_seal.inspect_pdf(sealer.seal(pdf, options=OPTIONS),
                                trust_roots=[seal_pkcs12.cert("root")]).ok


def test_the_seal_signs_the_attributes_pyhanko_would_without_patching_pyhanko(seal_pkcs12):
    from asn1crypto import cms
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign import attributes
    from pyhanko.sign.general import as_signing_certificate_v2

    # pyHanko's own provider is untouched (the seal's cached value goes through the signer's
    # attribute-provider interface, not a patch of the library).
    assert attributes.SigningCertificateV2Provider.build_attr_value.__qualname__ == \
        "SigningCertificateV2Provider.build_attr_value"
    sealer = backends.get_sealer()
    sealed = sealer.seal(_pdf(), options=OPTIONS)
    (sig,) = PdfFileReader(io.BytesIO(sealed)).embedded_signatures
    signer_info = sig.signed_data["signer_infos"][0]
    signed = {attr["type"].native: attr["values"][0] for attr in signer_info["signed_attrs"]}
    # What pyHanko's default PAdES attribute set holds: no signing-time (PAdES keeps it in
    # the signature dictionary), the certificate reference, the digest, the content type.
    assert set(signed) == {"content_type", "message_digest", "signing_certificate_v2"}
    assert signed["signing_certificate_v2"].dump() == as_signing_certificate_v2(
        sealer.certificate).dump()
    assert isinstance(sig.signed_data, cms.SignedData)
