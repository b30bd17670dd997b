"""The catalogue's JSON Schema rendered as Django form fields, step by step."""

from __future__ import annotations

import io

import pytest
from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from catalogue.forms_schema import validate_form_schema
from crm.form_render import (
    AttachmentField,
    ProcedureStepForm,
    attachment_field_name,
    procedure_steps,
    sniff_content_type,
    step_error_map,
    summary_rows,
)


def labels(en: str) -> dict[str, str]:
    return {"fr": f"{en} (fr)", "nl": f"{en} (nl)", "en": en, "de": f"{en} (de)"}


SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["purpose", "copies", "birth_date", "email", "agree"],
    "properties": {
        "purpose": {"type": "string", "enum": ["school", "work"], "x-labels": labels("Purpose"),
                    "x-enum-labels": {"school": labels("School"), "work": labels("Work")}},
        "copies": {"type": "integer", "minimum": 1, "maximum": 5, "x-labels": labels("Copies")},
        "birth_date": {"type": "string", "format": "date", "x-labels": labels("Birth date")},
        "email": {"type": "string", "format": "email", "x-labels": labels("E-mail")},
        "postcode": {"type": "string", "pattern": "^[0-9]{4}$", "x-labels": labels("Postcode"),
                     "x-help": labels("Four digits")},
        "remarks": {"type": "string", "maxLength": 20, "x-widget": "textarea",
                    "x-labels": labels("Remarks")},
        "urgent": {"type": "boolean", "x-labels": labels("Urgent")},
        "agree": {"type": "boolean", "const": True, "x-labels": labels("I agree")},
    },
    "x-steps": [
        {"title": labels("About you"), "fields": ["birth_date", "email", "postcode"]},
        {"title": labels("The certificate"),
         "fields": ["purpose", "copies", "remarks", "urgent", "agree"]},
    ],
}

ATTACHMENTS = [{"code": "id_copy", "required": True, "content_types": ["application/pdf"],
                "max_bytes": 1000, "label": labels("Copy of your ID")}]

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40


class FakeProcedure:
    def __init__(self, schema: dict, attachments: list | None = None) -> None:
        self.form_schema = schema
        self.attachments = attachments or []


def test_the_schema_used_here_is_a_valid_catalogue_form():
    validate_form_schema(SCHEMA)


def test_x_steps_give_one_step_each_and_a_final_confirmation_step():
    rendered = procedure_steps(FakeProcedure(SCHEMA, ATTACHMENTS))
    assert rendered.count == 3
    assert rendered.steps[0].fields == ["birth_date", "email", "postcode"]
    assert rendered.steps[2].is_confirmation and rendered.steps[2].fields == []
    assert rendered.step(99).number == 3 and rendered.step(-4).number == 1


def test_a_form_without_steps_has_all_fields_on_one_page_then_confirmation():
    schema = {k: v for k, v in SCHEMA.items() if k != "x-steps"}
    rendered = procedure_steps(FakeProcedure(schema))
    assert rendered.count == 2
    assert set(rendered.steps[0].fields) == set(SCHEMA["properties"])


def test_a_procedure_without_form_only_asks_for_confirmation():
    rendered = procedure_steps(FakeProcedure({}))
    assert rendered.count == 1 and rendered.steps[0].is_confirmation


def test_fields_get_the_right_widgets_and_translated_labels():
    rendered = procedure_steps(FakeProcedure(SCHEMA))
    with translation.override("nl"):
        form = ProcedureStepForm(rendered=rendered, step=rendered.steps[1])
        assert form.fields["purpose"].label == "Purpose (nl)"
        assert dict(form.fields["purpose"].choices)["school"] == "School (nl)"
    assert isinstance(form.fields["purpose"].widget, forms.RadioSelect)
    assert isinstance(form.fields["copies"], forms.IntegerField)
    assert isinstance(form.fields["remarks"].widget, forms.Textarea)
    assert form.fields["urgent"].required is False
    assert form.fields["agree"].required is True
    step1 = ProcedureStepForm(rendered=rendered, step=rendered.steps[0])
    assert isinstance(step1.fields["birth_date"], forms.DateField)
    assert step1.fields["birth_date"].widget.input_type == "date"
    assert isinstance(step1.fields["email"], forms.EmailField)
    with translation.override("de"):
        step1 = ProcedureStepForm(rendered=rendered, step=rendered.steps[0])
        assert step1.fields["postcode"].help_text == "Four digits (de)"
    assert 'aria-describedby="id_postcode_helptext"' in str(step1["postcode"])


def test_valid_step_gives_json_values():
    rendered = procedure_steps(FakeProcedure(SCHEMA))
    form = ProcedureStepForm({"birth_date": "1990-02-03", "email": "a@example.org",
                              "postcode": "1000"}, rendered=rendered, step=rendered.steps[0])
    assert form.is_valid(), form.errors
    assert form.json_data() == {"birth_date": "1990-02-03", "email": "a@example.org",
                                "postcode": "1000"}
    form = ProcedureStepForm({"purpose": "work", "copies": "2", "agree": "on"},
                             rendered=rendered, step=rendered.steps[1])
    assert form.is_valid(), form.errors
    assert form.json_data() == {"purpose": "work", "copies": 2, "urgent": False, "agree": True}


@pytest.mark.parametrize(("field", "value"), [
    ("birth_date", "31/31/2020"), ("email", "not-an-address"), ("postcode", "10a0"),
])
def test_bad_values_are_field_errors(field, value):
    rendered = procedure_steps(FakeProcedure(SCHEMA))
    data = {"birth_date": "1990-02-03", "email": "a@example.org", "postcode": "1000",
            field: value}
    form = ProcedureStepForm(data, rendered=rendered, step=rendered.steps[0])
    assert not form.is_valid()
    assert list(form.errors) == [field]


def test_errors_are_in_the_active_language():
    rendered = procedure_steps(FakeProcedure(SCHEMA))
    with translation.override("fr"):
        form = ProcedureStepForm({"copies": "9", "purpose": "nope"}, rendered=rendered,
                                 step=rendered.steps[1])
        assert not form.is_valid()
        assert form.errors["copies"] == ["Assurez-vous que cette valeur est inférieure ou "
                                         "égale à 5."]
        assert "purpose" in form.errors and "agree" in form.errors
        [required] = form.errors["agree"]
        assert required != "This field is required."


def test_a_step_only_requires_its_own_fields():
    rendered = procedure_steps(FakeProcedure(SCHEMA))
    form = ProcedureStepForm({"birth_date": "1990-02-03", "email": "a@example.org"},
                             rendered=rendered, step=rendered.steps[0])
    assert form.is_valid(), form.errors  # purpose/copies are on step 2


def test_remarks_longer_than_max_length_is_refused():
    rendered = procedure_steps(FakeProcedure(SCHEMA))
    form = ProcedureStepForm({"purpose": "work", "copies": "1", "agree": "on",
                              "remarks": "x" * 21}, rendered=rendered, step=rendered.steps[1])
    assert not form.is_valid()
    assert list(form.errors) == ["remarks"]


def upload(content: bytes, name: str = "file.pdf", content_type: str = "application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def test_attachments_are_on_the_confirmation_step():
    rendered = procedure_steps(FakeProcedure(SCHEMA, ATTACHMENTS))
    form = ProcedureStepForm({}, {attachment_field_name("id_copy"): upload(PDF)},
                             rendered=rendered, step=rendered.confirmation)
    assert form.is_valid(), form.errors
    [(code, file)] = form.attachments()
    assert code == "id_copy" and file.read() == PDF


@pytest.mark.parametrize(("content", "name", "message"), [
    (b"", "empty.pdf", "empty"),
    (PNG, "photo.pdf", "type"),  # the name says PDF, the bytes say PNG
    (PDF + b"x" * 2000, "big.pdf", "too large"),
])
def test_bad_attachments_are_field_errors(content, name, message):
    rendered = procedure_steps(FakeProcedure(SCHEMA, ATTACHMENTS))
    with translation.override("en"):
        form = ProcedureStepForm({}, {attachment_field_name("id_copy"): upload(content, name)},
                                 rendered=rendered, step=rendered.confirmation)
        assert not form.is_valid()
        [error] = form.errors[attachment_field_name("id_copy")]
    assert message in error


def test_a_missing_required_attachment_is_an_error():
    rendered = procedure_steps(FakeProcedure(SCHEMA, ATTACHMENTS))
    form = ProcedureStepForm({}, {}, rendered=rendered, step=rendered.confirmation)
    assert not form.is_valid()
    assert attachment_field_name("id_copy") in form.errors


def test_sniffing_ignores_the_file_name():
    assert sniff_content_type(io.BytesIO(PNG)) == "image/png"
    assert sniff_content_type(io.BytesIO(PDF)) == "application/pdf"
    assert sniff_content_type(io.BytesIO("Bonjour é".encode())) == "text/plain"
    assert sniff_content_type(io.BytesIO(b"\xff\xfe\x00\x81" * 3)) == "application/octet-stream"


def test_attachment_field_accept_attribute_lists_types():
    field = AttachmentField(spec=ATTACHMENTS[0])
    assert field.widget.attrs["accept"] == "application/pdf"


def test_summary_shows_labels_and_choice_labels_in_step_order():
    rendered = procedure_steps(FakeProcedure(SCHEMA))
    with translation.override("en"):
        rows = summary_rows(rendered, {"purpose": "school", "email": "a@example.org",
                                       "agree": True})
    assert rows == [("E-mail", "a@example.org"), ("Purpose", "School"), ("I agree", "Yes")]


def test_service_errors_are_placed_on_the_step_holding_the_field():
    rendered = procedure_steps(FakeProcedure(SCHEMA, ATTACHMENTS))
    where = step_error_map(rendered, {"email": ["x"], "copies": ["y"], "id_copy": ["z"]})
    assert where == {1: ["email"], 2: ["copies"], 3: ["id_copy"]}
