"""Every citizen-facing string is translated in fr, nl and de (English is the source
language), and the compiled catalogues the server reads are those of the sources."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOGUES = sorted(p for p in ROOT.glob("*/locale/*/LC_MESSAGES/django.po")
                    if ".venv" not in p.parts)


def _ids(message) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


def test_every_app_has_a_catalogue_in_each_language():
    apps = {p.parts[-5] for p in CATALOGUES}
    assert {"catalogue", "portal", "identity", "crm", "payments", "signing",
            "kiosk_api"} <= apps
    for app in apps:
        languages = {p.parts[-3] for p in CATALOGUES if p.parts[-5] == app}
        assert {"fr", "nl", "de", "en"} <= languages, app


@pytest.mark.parametrize("po_path", [p for p in CATALOGUES if p.parts[-3] in {"fr", "nl", "de"}],
                         ids=lambda p: f"{p.parts[-5]}-{p.parts[-3]}")
def test_catalogue_is_complete_and_compiled(po_path: Path):
    with po_path.open("rb") as handle:
        catalogue = read_po(handle)
    missing = [_ids(m) for m in catalogue if m.id and not m.fuzzy and not (
        m.string if isinstance(m.string, str) else all(m.string))]
    fuzzy = [_ids(m) for m in catalogue if m.id and m.fuzzy]
    assert not missing, f"untranslated in {po_path}: {missing[:5]}"
    assert not fuzzy, f"fuzzy (needs review) in {po_path}: {fuzzy[:5]}"
    mo_path = po_path.with_suffix(".mo")
    assert mo_path.exists(), f"{mo_path} is not compiled"
    with mo_path.open("rb") as handle:
        compiled = read_mo(handle)
    compiled_ids = {_ids(m) for m in compiled if m.id}
    stale = [_ids(m) for m in catalogue if m.id and _ids(m) not in compiled_ids]
    assert not stale, f"{mo_path} is older than its .po: {stale[:5]}"
