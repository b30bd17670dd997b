from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation
from wagtail.models import Revision

from catalogue.constants import Category, Channel, WorkflowKind
from catalogue.errors import CatalogueFileInvalid
from catalogue.forms_schema import validate_attachments, validate_form_schema
from catalogue.models import Procedure
from catalogue.services import catalogue_load

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """The command speaks the site's default language; messages are asserted in English."""
    with translation.override("en"):
        yield

# The catalogue table of DESIGN.md: every procedure of the seeds, by code, with its workflow.
DESIGN_TABLE = {
    "population": (WorkflowKind.INSTANT, [
        "household-composition", "main-residence", "main-residence-history",
        "marriage-purpose", "life", "legal-cohabitation", "belgian-nationality", "burial-rite",
        "belgian-voter", "register-extract"]),
    "civil_status": (WorkflowKind.AGENT_REVIEW, [
        "birth-certificate", "marriage-certificate", "death-certificate",
        "recognition-certificate", "name-choice-certificate", "gender-change-certificate",
        "name-change-certificate", "first-name-change-certificate", "adoption-certificate",
        "divorce-certificate"]),
    "justice": (WorkflowKind.INSTANT, ["criminal-record"]),
    "eid": (WorkflowKind.POSTAL, ["pin-puk-code"]),
    "public_space": (WorkflowKind.INTERVENTION, [
        "alert", "bulky-items", "greening", "deratting", "graffiti-removal"]),
    "permits": (WorkflowKind.PERMIT, [
        "street-artist-permit", "resident-parking-card", "parental-authorisation"]),
    "appointments": (WorkflowKind.AGENT_REVIEW, [
        "passport-appointment", "identity-card-appointment", "equipment-rental"]),
    "access": (WorkflowKind.AGENT_REVIEW, ["digital-key-activation"]),
}


def _run(*args: str) -> str:
    out = StringIO()
    call_command("load_catalogue", *args, stdout=out)
    return out.getvalue()


def test_first_load_creates_every_procedure_of_the_file(catalogue_data):
    output = _run()
    count = len(catalogue_data["procedures"])
    assert f"{count} created, 0 updated, 0 unchanged" in output
    assert Procedure.objects.count() == count
    # each creation is recorded as a revision the editors can see in the history
    assert Revision.objects.for_instance(Procedure.objects.get(code="bulky-items")).count() == 1


def test_second_load_changes_nothing():
    _run()
    before = {p.code: (p.updated_at, p.latest_revision_id) for p in Procedure.objects.all()}
    output = _run()
    assert f"0 created, 0 updated, {len(before)} unchanged" in output
    after = {p.code: (p.updated_at, p.latest_revision_id) for p in Procedure.objects.all()}
    assert after == before


def test_every_category_and_procedure_of_the_design_table_is_loaded(loaded_catalogue):
    assert {c.value for c in Category} == set(DESIGN_TABLE)
    for category, (workflow, codes) in DESIGN_TABLE.items():
        for code in codes:
            procedure = loaded_catalogue[code]
            assert procedure.category == category, code
            assert procedure.workflow_kind == workflow, code
    assert len(loaded_catalogue) == sum(len(codes) for _w, codes in DESIGN_TABLE.values())


def test_every_loaded_procedure_has_a_valid_form_and_four_languages(loaded_catalogue):
    for procedure in loaded_catalogue.values():
        validate_form_schema(procedure.form_schema)
        validate_attachments(procedure.attachments)
        assert procedure.form_schema["properties"], procedure.code
        for lang in ("fr", "nl", "en", "de"):
            assert getattr(procedure, f"name_{lang}"), (procedure.code, lang)
            assert getattr(procedure, f"summary_{lang}"), (procedure.code, lang)
        assert procedure.channels, procedure.code


def test_digital_key_activation_is_only_offered_at_the_counter(loaded_catalogue):
    assert loaded_catalogue["digital-key-activation"].channels == [Channel.COUNTER]


def test_bulky_items_form_is_split_in_steps_and_keyworded_in_every_language(loaded_catalogue):
    procedure = loaded_catalogue["bulky-items"]
    assert len(procedure.form_schema["x-steps"]) == 3
    for word in ("encombrants", "grof huisvuil", "bulky", "Sperrmüll"):
        assert word in procedure.keywords


def test_a_changed_entry_is_updated_with_a_new_revision(catalogue_data, tmp_path):
    catalogue_load(data=catalogue_data)
    entry = next(p for p in catalogue_data["procedures"] if p["code"] == "life")
    entry["fees"]["counter"] = 700
    catalogue_data["version"] += 1
    path = tmp_path / "procedures.json"
    path.write_text(json.dumps(catalogue_data))
    output = _run("--file", str(path))
    assert "0 created, 1 updated" in output
    life = Procedure.objects.get(code="life")
    assert life.fee_for("counter") == 700
    assert Revision.objects.for_instance(life).count() == 2


def test_a_procedure_edited_in_the_admin_is_kept_unless_overwrite_is_asked(
        catalogue_data, django_user_model, tmp_path):
    catalogue_load(data=catalogue_data)
    editor = django_user_model.objects.create_user("editor", email="editor@example.org",
                                                   password="x" * 16)
    life = Procedure.objects.get(code="life")
    life.summary_en = "Edited by an editor."
    life.save()
    life.save_revision(user=editor)
    entry = next(p for p in catalogue_data["procedures"] if p["code"] == "life")
    entry["sla_days"] = 3
    path = tmp_path / "procedures.json"
    path.write_text(json.dumps(catalogue_data))

    output = _run("--file", str(path))
    assert "1 kept as edited in the admin" in output
    assert Procedure.objects.get(code="life").summary_en == "Edited by an editor."

    _run("--file", str(path), "--overwrite-edits")
    life.refresh_from_db()
    assert life.sla_days == 3
    assert life.summary_en != "Edited by an editor."


def test_a_bad_entry_refuses_the_whole_file_and_names_the_problem(catalogue_data, tmp_path):
    catalogue_load(data=catalogue_data)
    snapshot = {p.code: p.fee_web for p in Procedure.objects.all()}
    for entry in catalogue_data["procedures"]:
        entry["fees"]["web"] = 123  # would change every procedure...
    bad = next(p for p in catalogue_data["procedures"] if p["code"] == "deratting")
    del bad["form_schema"]["properties"]["street"]["x-labels"]["de"]  # ...but one is invalid
    catalogue_data["procedures"].append({"code": "new-one", "name": "not a mapping"})
    path = tmp_path / "procedures.json"
    path.write_text(json.dumps(catalogue_data))

    with pytest.raises(CommandError) as excinfo:
        _run("--file", str(path))
    message = str(excinfo.value)
    assert "nothing was changed" in message
    assert "deratting: form_schema: Field street has no label in: de." in message
    assert "new-one:" in message
    assert {p.code: p.fee_web for p in Procedure.objects.all()} == snapshot
    assert not Procedure.objects.filter(code="new-one").exists()


@pytest.mark.parametrize("data", [
    [], {"version": 1}, {"version": 0, "procedures": []}, {"version": "2", "procedures": []},
    {"version": 1, "procedures": ["not an object"]},
])
def test_a_malformed_file_is_refused(data):
    with pytest.raises(CatalogueFileInvalid):
        catalogue_load(data=data)
    assert Procedure.objects.count() == 0


def test_duplicate_codes_and_unknown_keys_are_refused(catalogue_data):
    first = catalogue_data["procedures"][0]
    catalogue_data["procedures"].append(dict(first, colour="blue"))
    with pytest.raises(CatalogueFileInvalid) as excinfo:
        catalogue_load(data=catalogue_data)
    problems = excinfo.value.details[first["code"]]
    assert any("more than once" in p for p in problems)
    assert any("colour" in p for p in problems)
    assert Procedure.objects.count() == 0


def test_a_missing_or_broken_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="cannot be read"):
        _run("--file", str(tmp_path / "missing.json"))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(CommandError, match="not valid JSON"):
        _run("--file", str(broken))
