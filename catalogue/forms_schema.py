"""The form definition of a procedure: JSON Schema (draft 2020-12) plus a few extensions.

Extensions, all optional except the labels:
- `x-labels` on every property: `{"fr": ..., "nl": ..., "en": ..., "de": ...}`;
- `x-help`: the same shape, a hint shown under the field;
- `x-enum-labels`: `{value: {"fr": ..., ...}}` for the choices of an `enum`;
- `x-widget`: `textarea` for long text;
- `x-steps` at the top: `[{"title": {...}, "fields": [names]}]` splits a long form in steps.

One validator serves the portal form, the terminal API and the intake service, so a
citizen gets the same error, in their language, on every channel.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

SUPPORTED_TYPES = {"string", "integer", "number", "boolean"}
SUPPORTED_FORMATS = {"date", "email", "time"}
SUPPORTED_WIDGETS = {"textarea"}
# Uploads above this are refused by every channel (see DATA_UPLOAD_MAX_MEMORY_SIZE).
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
FORMAT_CHECKER = FormatChecker(formats=("date", "email", "time"))


def _is_language_map(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


def _missing_languages(mapping: Any) -> list[str]:
    if not _is_language_map(mapping):
        return list(settings.LANGUAGE_CODES)
    return [code for code in settings.LANGUAGE_CODES if not str(mapping.get(code, "")).strip()]


@functools.lru_cache(maxsize=512)
def _meta_schema_error(schema_json: str) -> str | None:
    """The meta-schema check of one serialized definition, remembered: it is the slow part
    (about 30 ms) and the same definitions are checked on every load and every admin save."""
    try:
        Draft202012Validator.check_schema(json.loads(schema_json))
    except SchemaError as exc:
        return exc.message
    return None


def validate_form_schema(schema: Any) -> None:
    """Raise ValidationError (one message per problem) when `schema` is not a usable form.

    A usable form is flat (scalar fields only), labels every field and every choice in every
    site language, and, when split in steps, lists each field in exactly one step: the
    portal, the terminals and the back office all render it from this definition alone.
    """
    errors: list[str] = []
    if schema in ({}, None):
        return
    if not isinstance(schema, dict):
        raise ValidationError(gettext_lazy("The form definition must be a JSON object."))
    try:
        serialized = json.dumps(schema, sort_keys=True)
    except (TypeError, ValueError):
        # Not JSON (keys that are not text, objects): a form definition is stored as JSON.
        raise ValidationError(gettext_lazy("The form definition must be a JSON object.")) \
            from None
    meta_error = _meta_schema_error(serialized)
    if meta_error is not None:
        raise ValidationError(
            gettext_lazy("The form definition is not valid JSON Schema: %(error)s"),
            params={"error": meta_error},
        )
    if schema.get("type") != "object":
        errors.append(_('The form definition must have "type": "object".'))
    properties = schema.get("properties", {})
    if not isinstance(properties, dict) or not properties:
        errors.append(_("The form definition must define at least one field in "
                        '"properties".'))
        properties = {}
    for name, prop in properties.items():
        errors.extend(_field_problems(name, prop))
    for name in schema.get("required", []):
        if name not in properties:
            errors.append(_("Required field %(name)s is not defined.") % {"name": name})
    errors.extend(_step_problems(schema.get("x-steps"), properties))
    if errors:
        raise ValidationError(errors)


def _field_problems(name: str, prop: Any) -> list[str]:
    if not isinstance(prop, dict):
        return [_("Field %(name)s must be an object.") % {"name": name}]
    errors: list[str] = []
    if prop.get("type") not in SUPPORTED_TYPES:
        errors.append(_("Field %(name)s: type must be one of %(types)s.")
                      % {"name": name, "types": ", ".join(sorted(SUPPORTED_TYPES))})
    missing = _missing_languages(prop.get("x-labels"))
    if missing:
        errors.append(_("Field %(name)s has no label in: %(langs)s.")
                      % {"name": name, "langs": ", ".join(missing)})
    if "x-help" in prop and _missing_languages(prop["x-help"]):
        errors.append(_("Field %(name)s: the help text must be given in every language.")
                      % {"name": name})
    if "format" in prop and prop["format"] not in SUPPORTED_FORMATS:
        errors.append(_("Field %(name)s: format must be one of %(formats)s.")
                      % {"name": name, "formats": ", ".join(sorted(SUPPORTED_FORMATS))})
    if "x-widget" in prop and prop["x-widget"] not in SUPPORTED_WIDGETS:
        errors.append(_("Field %(name)s: widget must be one of %(widgets)s.")
                      % {"name": name, "widgets": ", ".join(sorted(SUPPORTED_WIDGETS))})
    if "x-enum-labels" in prop:
        enum_labels = prop["x-enum-labels"]
        if not isinstance(enum_labels, dict) or "enum" not in prop:
            errors.append(_("Field %(name)s: choice labels need an enum and must map each "
                            "value to its labels.") % {"name": name})
        else:
            for value in prop["enum"]:
                if _missing_languages(enum_labels.get(str(value))):
                    errors.append(_("Field %(name)s: choice %(value)s is not labelled in "
                                    "every language.") % {"name": name, "value": value})
    elif prop.get("enum") and prop.get("type") == "string":
        errors.append(_("Field %(name)s: a field with choices needs x-enum-labels.")
                      % {"name": name})
    return errors


def _step_problems(steps: Any, properties: dict) -> list[str]:
    if steps is None:
        return []
    if not isinstance(steps, list) or not steps:
        return [_('"x-steps" must be a list of steps.')]
    errors: list[str] = []
    listed: list[str] = []
    for step in steps:
        if not isinstance(step, dict) or not isinstance(step.get("fields"), list):
            errors.append(_("Every step must be an object with a title and a list of "
                            "fields."))
            continue
        if _missing_languages(step.get("title")):
            errors.append(_("Every step needs a title in every language."))
        for name in step["fields"]:
            if name not in properties:
                errors.append(_("Step field %(name)s is not defined.") % {"name": name})
            listed.append(str(name))
    if not errors and (len(listed) != len(set(listed)) or set(listed) != set(properties)):
        errors.append(_("The steps must list every field exactly once."))
    return errors


_CONTENT_TYPE = re.compile(r"^[a-z]+/[a-z0-9.+-]+$")
_ATTACHMENT_CODE = re.compile(r"^[a-z][a-z0-9_]*$")


def validate_attachments(spec: Any) -> None:
    """Raise ValidationError when the attachment list is not usable by every channel."""
    if not isinstance(spec, list):
        raise ValidationError(gettext_lazy("Attachments must be a list."))
    errors: list[str] = []
    seen: set[str] = set()
    for item in spec:
        if not isinstance(item, dict) or not isinstance(item.get("code"), str) or not item["code"]:
            errors.append(_("Every attachment needs a code."))
            continue
        code = item["code"]
        if not _ATTACHMENT_CODE.match(code):
            errors.append(_("Attachment code %(code)s may only use lowercase letters, digits "
                            "and underscores.") % {"code": code})
        if code in seen:
            errors.append(_("Attachment %(code)s is listed twice.") % {"code": code})
        seen.add(code)
        if _missing_languages(item.get("label")):
            errors.append(_("Attachment %(code)s has no label in every language.")
                          % {"code": code})
        if not isinstance(item.get("required", False), bool):
            errors.append(_("Attachment %(code)s: required must be true or false.")
                          % {"code": code})
        types = item.get("content_types")
        if (not isinstance(types, list) or not types
                or not all(isinstance(t, str) and _CONTENT_TYPE.match(t) for t in types)):
            errors.append(_("Attachment %(code)s: list the accepted file types, such as "
                            "application/pdf.") % {"code": code})
        max_bytes = item.get("max_bytes")
        if (not isinstance(max_bytes, int) or isinstance(max_bytes, bool)
                or not 0 < max_bytes <= MAX_ATTACHMENT_BYTES):
            errors.append(_("Attachment %(code)s: the maximum size must be between 1 byte "
                            "and %(max)s MB.") % {"code": code,
                                                  "max": MAX_ATTACHMENT_BYTES // 2**20})
    if errors:
        raise ValidationError(errors)


def _message(error) -> str:
    """A translated message for one jsonschema error, in the active language."""
    validator = error.validator
    value = error.validator_value
    if validator == "required":
        return _("This field is required.")
    if validator == "type":
        return {
            "integer": _("Enter a whole number."),
            "number": _("Enter a number."),
            "boolean": _("Choose yes or no."),
        }.get(value, _("Enter a text."))
    if validator == "enum":
        return _("Choose one of the proposed values.")
    if validator == "pattern":
        return _("The format is not valid.")
    if validator == "maxLength":
        return _("Use at most %(n)s characters.") % {"n": value}
    if validator == "minLength":
        return _("This field is required.") if value == 1 else (
            _("Use at least %(n)s characters.") % {"n": value})
    if validator == "minimum":
        return _("Enter a value of at least %(n)s.") % {"n": value}
    if validator == "maximum":
        return _("Enter a value of at most %(n)s.") % {"n": value}
    if validator == "format":
        return {
            "date": _("Enter a valid date (YYYY-MM-DD)."),
            "email": _("Enter a valid e-mail address."),
            "time": _("Enter a valid time."),
        }.get(value, _("The format is not valid."))
    if validator == "additionalProperties":
        return _("Unknown field.")
    if validator == "const":
        return _("This must be accepted.")
    return _("This value is not valid.")


def validate_form_data(schema: dict, data: Any) -> dict[str, list[str]]:
    """Errors per field (`__all__` for the form as a whole), translated; empty when valid.

    Never raises on bad data: whatever a channel sends (junk included) comes back as
    messages the citizen can act on.
    """
    if not schema:
        return {} if data in ({}, None) else {"__all__": [_("This procedure takes no form.")]}
    if not isinstance(data, dict):
        return {"__all__": [_("The form data must be an object.")]}
    errors: dict[str, list[str]] = {}

    def add(field: Any, message: str) -> None:
        messages = errors.setdefault(str(field), [])
        if message not in messages:
            messages.append(message)

    validator = Draft202012Validator(schema, format_checker=FORMAT_CHECKER)
    known = schema.get("properties", {})
    for error in validator.iter_errors(data):
        if error.validator == "required" and isinstance(error.instance, dict):
            for name in error.validator_value:
                if name not in error.instance:
                    add(name, _message(error))
            continue
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            for name in sorted(str(key) for key in error.instance if key not in known):
                add(name, _message(error))
            continue
        field = error.absolute_path[0] if error.absolute_path else "__all__"
        add(field, _message(error))
    return errors


def field_label(schema: dict, name: str, language: str | None = None) -> str:
    from core.i18n import localized_value

    prop = schema.get("properties", {}).get(name, {})
    return localized_value(prop.get("x-labels"), language) or name
