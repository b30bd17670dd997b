from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalogue.forms_schema import (
    field_label,
    validate_attachments,
    validate_form_data,
    validate_form_schema,
)


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in English unless a test picks a language."""
    with translation.override("en"):
        yield


LABELS = {"fr": "Rue", "nl": "Straat", "en": "Street", "de": "Straße"}


def _schema(**extra) -> dict:
    schema = {
        "type": "object",
        "properties": {
            "street": {"type": "string", "x-labels": LABELS, "minLength": 2, "maxLength": 50},
            "count": {"type": "integer", "x-labels": LABELS, "minimum": 1, "maximum": 5},
            "when": {"type": "string", "format": "date", "x-labels": LABELS},
            "kind": {"type": "string", "x-labels": LABELS, "enum": ["a", "b"],
                     "x-enum-labels": {"a": LABELS, "b": LABELS}},
            "agree": {"type": "boolean", "x-labels": LABELS, "const": True},
            "plate": {"type": "string", "x-labels": LABELS, "pattern": "^[1-9]-[A-Z]{3}$"},
        },
        "required": ["street", "agree"],
        "additionalProperties": False,
    }
    schema.update(extra)
    return schema


def _problems(schema) -> list[str]:
    with pytest.raises(ValidationError) as excinfo:
        validate_form_schema(schema)
    return excinfo.value.messages


# ----------------------------------------------------------------- form definitions

def test_a_complete_definition_is_accepted():
    validate_form_schema(_schema())
    validate_form_schema({})  # a procedure without a form


@pytest.mark.parametrize("schema, expected", [
    ([], "must be a JSON object"),
    ({"type": "object", 1: "x", "properties": {}}, "must be a JSON object"),
    ({"type": "object", "properties": {"a": {"type": "string", "x-labels": {1, 2}}}},
     "must be a JSON object"),
    ({"type": "object", "properties": {"a": {"type": "nonsense"}}}, "not valid JSON Schema"),
    ({"type": "array", "properties": {"a": {"type": "string", "x-labels": LABELS}}},
     '"type": "object"'),
    ({"type": "object", "properties": {}}, "at least one field"),
    ({"type": "object", "properties": {"a": {"type": "array", "x-labels": LABELS}}},
     "type must be one of"),
    ({"type": "object", "properties": {"a": {"type": "string", "x-labels": {"fr": "A"}}}},
     "has no label in: nl, en, de"),
    ({"type": "object", "properties": {"a": {"type": "string", "x-labels": "A"}}},
     "has no label in: fr, nl, en, de"),
    ({"type": "object", "properties": {"a": {"type": "string", "x-labels": LABELS,
                                             "enum": ["x"]}}}, "needs x-enum-labels"),
    ({"type": "object", "properties": {"a": {"type": "string", "x-labels": LABELS,
                                             "enum": ["x"], "x-enum-labels": {"y": LABELS}}}},
     "choice x is not labelled"),
    ({"type": "object", "properties": {"a": {"type": "string", "x-labels": LABELS,
                                             "x-enum-labels": ["x"]}}}, "choice labels need"),
    ({"type": "object", "properties": {"a": {"type": "string", "x-labels": LABELS,
                                             "format": "uri"}}}, "format must be one of"),
    ({"type": "object", "properties": {"a": {"type": "string", "x-labels": LABELS,
                                             "x-widget": "slider"}}}, "widget must be one of"),
    ({"type": "object", "properties": {"a": {"type": "string", "x-labels": LABELS}},
      "required": ["b"]}, "Required field b is not defined."),
    ({"type": "object", "properties": {"a": {"type": "string", "x-labels": LABELS}},
      "x-steps": "one"}, '"x-steps" must be a list'),
    ({"type": "object", "properties": {"a": {"type": "string", "x-labels": LABELS}},
      "x-steps": ["one"]}, "Every step must be an object"),
    ({"type": "object", "properties": {"a": {"type": "string", "x-labels": LABELS}},
      "x-steps": [{"title": {"fr": "Un"}, "fields": ["a"]}]}, "title in every language"),
    ({"type": "object", "properties": {"a": {"type": "string", "x-labels": LABELS},
                                       "b": {"type": "string", "x-labels": LABELS}},
      "x-steps": [{"title": LABELS, "fields": ["a"]}]}, "every field exactly once"),
    ({"type": "object", "properties": {"a": {"type": "string", "x-labels": LABELS}},
      "x-steps": [{"title": LABELS, "fields": ["a", "a"]}]}, "every field exactly once"),
    ({"type": "object", "properties": {"a": {"type": "string", "x-labels": LABELS}},
      "x-steps": [{"title": LABELS, "fields": ["zz"]}]}, "Step field zz is not defined."),
])
def test_an_unusable_definition_is_refused_with_a_clear_message(schema, expected):
    assert any(expected in message for message in _problems(schema))


def test_schema_problems_are_translated():
    schema = {"type": "object", "properties": {"a": {"type": "string", "x-labels": {}}}}
    with translation.override("fr"):
        assert any("n'a pas de libellé" in m for m in _problems(schema))
    with translation.override("nl"):
        assert any("heeft geen label" in m for m in _problems(schema))
    with translation.override("de"):
        assert any("hat keine Beschriftung" in m for m in _problems(schema))


@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["type", "properties", "required", "x-steps", "x-labels",
                                       "enum", "x-enum-labels", "fields", "title", "a"]),
                      children, max_size=5),
    max_leaves=20))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_junk_definition_is_either_accepted_or_refused_never_crashes(junk):
    try:
        validate_form_schema(junk)
    except ValidationError as exc:
        assert all(isinstance(m, str) and m for m in exc.messages)


# ----------------------------------------------------------------- attachments

def test_attachments_are_checked():
    good = [{"code": "photo", "required": True, "content_types": ["image/jpeg"],
             "max_bytes": 1024, "label": LABELS}]
    validate_attachments(good)
    validate_attachments([])
    for bad, expected in [
        ("x", "must be a list"),
        ([{"required": True}], "needs a code"),
        ([dict(good[0], code="Photo!")], "lowercase letters"),
        (good + good, "listed twice"),
        ([dict(good[0], label={"fr": "Photo"})], "no label in every language"),
        ([dict(good[0], content_types=[])], "accepted file types"),
        ([dict(good[0], content_types=["jpeg"])], "accepted file types"),
        ([dict(good[0], max_bytes=0)], "maximum size"),
        ([dict(good[0], max_bytes=10**12)], "maximum size"),
        ([dict(good[0], required="yes")], "true or false"),
    ]:
        with pytest.raises(ValidationError) as excinfo:
            validate_attachments(bad)
        assert any(expected in m for m in excinfo.value.messages), (bad, excinfo.value.messages)


# ----------------------------------------------------------------- citizen data

def test_valid_data_has_no_errors():
    data = {"street": "Rue Haute", "count": 2, "when": "2026-05-01", "kind": "a",
            "agree": True, "plate": "1-ABC"}
    assert validate_form_data(_schema(), data) == {}


def test_each_problem_is_reported_on_its_field():
    errors = validate_form_data(_schema(), {
        "street": "R", "count": 9, "when": "2026-13-45", "kind": "z", "plate": "ABC",
        "extra": "x"})
    assert errors == {
        "street": ["Use at least 2 characters."],
        "count": ["Enter a value of at most 5."],
        "when": ["Enter a valid date (YYYY-MM-DD)."],
        "kind": ["Choose one of the proposed values."],
        "plate": ["The format is not valid."],
        "agree": ["This field is required."],
        "extra": ["Unknown field."],
    }


def test_wrong_types_and_refused_consent_have_their_own_messages():
    errors = validate_form_data(_schema(), {"street": 5, "count": "two", "agree": False})
    assert errors["street"] == ["Enter a text."]
    assert errors["count"] == ["Enter a whole number."]
    assert errors["agree"] == ["This must be accepted."]


def test_conditional_requirements_land_on_the_field():
    schema = _schema(**{"if": {"properties": {"kind": {"const": "b"}}, "required": ["kind"]},
                        "then": {"required": ["plate"]}})
    base = {"street": "Rue Haute", "agree": True}
    assert validate_form_data(schema, base | {"kind": "a"}) == {}
    assert validate_form_data(schema, base | {"kind": "b"}) == {
        "plate": ["This field is required."]}


@pytest.mark.parametrize("language, expected", [
    ("fr", "Ce champ est obligatoire."),
    ("nl", "Dit veld is verplicht."),
    ("de", "Dieses Feld ist ein Pflichtfeld."),
    ("en", "This field is required."),
])
def test_data_errors_are_in_the_citizens_language(language, expected):
    with translation.override(language):
        assert validate_form_data(_schema(), {"agree": True}) == {"street": [expected]}


def test_non_object_data_and_formless_procedures():
    assert validate_form_data(_schema(), ["a"]) == {"__all__": ["The form data must be an "
                                                                "object."]}
    assert validate_form_data({}, {}) == {}
    assert validate_form_data({}, None) == {}
    assert "__all__" in validate_form_data({}, {"a": 1})


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=12), children, max_size=6),
    max_leaves=25)
FIELD_NAMES = st.sampled_from(["street", "count", "when", "kind", "agree", "plate", "x", ""])


@given(st.one_of(JSON, st.dictionaries(FIELD_NAMES, JSON, max_size=8)),
       st.sampled_from(["fr", "nl", "en", "de"]))
@settings(max_examples=300, deadline=None)
def test_any_junk_data_gives_a_dict_of_message_lists_and_never_raises(data, language):
    with translation.override(language):
        errors = validate_form_data(_schema(), data)
    assert isinstance(errors, dict)
    for field, messages in errors.items():
        assert isinstance(field, str)
        assert isinstance(messages, list) and messages
        assert all(isinstance(m, str) and m for m in messages)


@pytest.mark.django_db
def test_every_catalogue_form_survives_junk(loaded_catalogue):
    junk = {"street": ["x"], "number": {"a": 1}, "postal_code": 1000, "volume_m3": "3",
            "preferred_date": "tomorrow", "phone": "call me", "unknown": True}
    for procedure in loaded_catalogue.values():
        errors = validate_form_data(procedure.form_schema, junk)
        assert errors, procedure.code
        assert all(isinstance(m, str) for messages in errors.values() for m in messages)


def test_field_label_reads_the_requested_language_with_fallback():
    schema = _schema()
    assert field_label(schema, "street", "nl") == "Straat"
    assert field_label(schema, "street", "de") == "Straße"
    assert field_label(schema, "missing", "de") == "missing"
