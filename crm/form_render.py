"""A procedure's form definition (catalogue JSON Schema + attachments) as Django forms.

The catalogue describes each form once (see catalogue.forms_schema); the portal and the
counter render it here, step by step, and the intake service validates the same data again
with the same schema. So this module only turns the schema into widgets and the cleaned
values back into JSON; it never decides whether a request is acceptable.
"""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass, field
from typing import Any

import filetype
from django import forms
from django.core.validators import RegexValidator
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalogue.forms_schema import validate_form_data
from core.i18n import localized_value

# Content types filetype cannot recognise from the bytes: accepted when the upload is text.
TEXT_TYPES = {"text/plain", "text/csv"}


@dataclass(frozen=True)
class FormStep:
    """One page of a procedure form: some schema fields, or (the last page, where the
    citizen checks the summary and sends) the attachments."""

    number: int  # 1-based
    title: str
    fields: list[str]
    with_attachments: bool = False

    @property
    def is_confirmation(self) -> bool:
        return self.with_attachments


@dataclass
class RenderedProcedureForm:
    """The steps of one procedure's form in the active language."""

    schema: dict
    attachments: list[dict]
    steps: list[FormStep] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.steps)

    def step(self, number: int) -> FormStep:
        number = max(1, min(number, self.count))
        return self.steps[number - 1]

    @property
    def confirmation(self) -> FormStep:
        return self.steps[-1]

    def data_fields(self) -> list[str]:
        return [name for step in self.steps for name in step.fields]


def procedure_steps(procedure: Any) -> RenderedProcedureForm:
    """The steps of `procedure`'s form: one per `x-steps` entry (or one for all the fields),
    then a confirmation step with the summary and the attachments. Files are asked there,
    at the moment of sending, because a draft keeps only JSON."""
    schema = procedure.form_schema or {}
    attachments = list(procedure.attachments or [])
    properties = list((schema.get("properties") or {}).keys())
    steps: list[FormStep] = []
    for index, step in enumerate(schema.get("x-steps") or [], start=1):
        steps.append(FormStep(number=index, title=localized_value(step.get("title")) or "",
                              fields=[n for n in step.get("fields", []) if n in properties]))
    if not steps and properties:
        steps.append(FormStep(number=1, title=str(_("Your request")), fields=properties))
    steps.append(FormStep(number=len(steps) + 1, title=str(_("Check and send")), fields=[],
                          with_attachments=True))
    return RenderedProcedureForm(schema=schema, attachments=attachments, steps=steps)


def _label(prop: dict, name: str) -> str:
    return localized_value(prop.get("x-labels")) or name


def _choices(prop: dict) -> list[tuple[str, str]]:
    labels = prop.get("x-enum-labels") or {}
    return [(str(value), localized_value(labels.get(str(value))) or str(value))
            for value in prop.get("enum", [])]


def schema_field(name: str, prop: dict, *, required: bool) -> forms.Field:
    """One Django form field for one JSON Schema property."""
    kind = prop.get("type", "string")
    common: dict[str, Any] = {
        "label": _label(prop, name),
        "help_text": localized_value(prop.get("x-help")),
        "required": required,
    }
    if "enum" in prop:
        choices = _choices(prop)
        if len(choices) <= 5:
            return forms.ChoiceField(choices=choices, widget=forms.RadioSelect, **common)
        return forms.ChoiceField(choices=[("", "—"), *choices], **common)
    if kind == "boolean":
        # JSON Schema "required" only means the key is present (we always send it); a box
        # that must be ticked is `const: true`.
        common["required"] = prop.get("const") is True
        return forms.BooleanField(**common)
    if kind == "integer":
        return forms.IntegerField(min_value=prop.get("minimum"), max_value=prop.get("maximum"),
                                  **common)
    if kind == "number":
        return forms.DecimalField(min_value=prop.get("minimum"), max_value=prop.get("maximum"),
                                  **common)
    fmt = prop.get("format")
    if fmt == "date":
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}),
                               input_formats=["%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y"], **common)
    if fmt == "email":
        return forms.EmailField(max_length=prop.get("maxLength"), **common)
    if fmt == "time":
        return forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}), **common)
    validators = []
    if prop.get("pattern"):
        validators.append(RegexValidator(prop["pattern"], message=_("The format is not valid.")))
    widget = forms.Textarea(attrs={"rows": 5}) if prop.get("x-widget") == "textarea" else None
    return forms.CharField(max_length=prop.get("maxLength"), min_length=prop.get("minLength"),
                           validators=validators, widget=widget, strip=True, **common)


def to_json_value(value: Any) -> Any:
    """A cleaned form value as the JSON the schema expects."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


class AttachmentField(forms.FileField):
    """A file checked like the intake service will: not empty, not too large, and of an
    allowed type judged from its bytes (the name and the browser's header can lie)."""

    def __init__(self, *, spec: dict, **kwargs: Any) -> None:
        self.content_types = list(spec.get("content_types") or [])
        self.max_bytes = spec.get("max_bytes")
        kwargs.setdefault("allow_empty_file", False)
        super().__init__(**kwargs)
        accept = ",".join(self.content_types)
        if accept:
            self.widget.attrs["accept"] = accept

    def clean(self, data: Any, initial: Any = None) -> Any:
        upload = super().clean(data, initial)
        if not upload:
            return upload
        if self.max_bytes and upload.size > self.max_bytes:
            raise forms.ValidationError(
                _("The file is too large (%(size)s); the limit is %(limit)s.")
                % {"size": filesizeformat(upload.size), "limit": filesizeformat(self.max_bytes)},
                code="too_large")
        if self.content_types and sniff_content_type(upload) not in self.content_types:
            raise forms.ValidationError(
                _("This type of file is not accepted. Accepted: %(types)s.")
                % {"types": ", ".join(describe_type(t) for t in self.content_types)},
                code="bad_type")
        upload.seek(0)
        return upload


def sniff_content_type(upload: Any) -> str:
    upload.seek(0)
    head = upload.read(8192)
    upload.seek(0)
    kind = filetype.guess(head)
    if kind is not None:
        return kind.mime
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "application/octet-stream"
    return "text/plain"


def describe_type(content_type: str) -> str:
    return {
        "application/pdf": "PDF",
        "image/jpeg": "JPEG",
        "image/png": "PNG",
        "image/heic": "HEIC",
        "image/webp": "WebP",
        "text/plain": _("text"),
    }.get(content_type, content_type)


class ProcedureStepForm(forms.Form):
    """The fields of one step. `prefix`-free so the POST names are the schema names."""

    template_name = "crm/forms/step_fields.html"
    required_css_class = "field--required"
    error_css_class = "field--error"

    def __init__(self, *args: Any, rendered: RenderedProcedureForm, step: FormStep,
                 include_attachments: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rendered = rendered
        self.step = step
        schema = rendered.schema
        required = set(schema.get("required") or [])
        properties = schema.get("properties") or {}
        for name in step.fields:
            self.fields[name] = schema_field(name, properties[name], required=name in required)
        if step.with_attachments and include_attachments:
            for spec in rendered.attachments:
                self.fields[attachment_field_name(spec["code"])] = AttachmentField(
                    spec=spec, label=localized_value(spec.get("label")) or spec["code"],
                    required=bool(spec.get("required")),
                    help_text=attachment_help(spec))
        for bound_name, form_field in self.fields.items():
            form_field.widget.attrs.setdefault("autocomplete", "off")
            if form_field.help_text:
                form_field.widget.attrs["aria-describedby"] = f"id_{bound_name}_helptext"

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        # The schema may say more than the widgets (e.g. pattern on an enum): check the
        # step's values against it, ignoring "required" of fields on other steps.
        partial = self.json_data()
        schema = dict(self.rendered.schema)
        schema["required"] = [n for n in schema.get("required", []) if n in self.step.fields]
        schema.pop("x-steps", None)
        for name, messages in validate_form_data(schema, partial).items():
            if name in self.fields and name not in self.errors:
                for message in messages:
                    self.add_error(name, message)
            elif name == "__all__":
                for message in messages:
                    self.add_error(None, message)
        return cleaned

    def json_data(self) -> dict[str, Any]:
        """The valid values of this step's schema fields as JSON (empty optional ones left out)."""
        data: dict[str, Any] = {}
        for name in self.step.fields:
            if name not in getattr(self, "cleaned_data", {}):
                continue
            value = self.cleaned_data[name]
            if value in ("", None):
                continue
            data[name] = to_json_value(value)
        return data

    def attachments(self) -> list[tuple[str, Any]]:
        """(code, UploadedFile) pairs for case_submit."""
        pairs = []
        for spec in self.rendered.attachments:
            upload = self.cleaned_data.get(attachment_field_name(spec["code"]))
            if upload:
                pairs.append((spec["code"], upload))
        return pairs


def attachment_field_name(code: str) -> str:
    return f"attachment__{code}"


def attachment_help(spec: dict) -> str:
    parts = []
    if spec.get("content_types"):
        parts.append(_("Accepted: %(types)s.")
                     % {"types": ", ".join(describe_type(t) for t in spec["content_types"])})
    if spec.get("max_bytes"):
        parts.append(_("At most %(size)s.") % {"size": filesizeformat(spec["max_bytes"])})
    return " ".join(parts)


def summary_rows(rendered: RenderedProcedureForm, data: dict) -> list[tuple[str, str]]:
    """(label, displayed value) of every answered field, in step order, for the summary."""
    properties = rendered.schema.get("properties") or {}
    rows = []
    for step in rendered.steps:
        for name in step.fields:
            if name not in data:
                continue
            rows.append((_label(properties[name], name), display_value(properties[name],
                                                                      data[name])))
    return rows


def display_value(prop: dict, value: Any) -> str:
    if "enum" in prop:
        return dict(_choices(prop)).get(str(value), str(value))
    if isinstance(value, bool):
        return str(_("Yes")) if value else str(_("No"))
    return str(value)


def step_error_map(rendered: RenderedProcedureForm, details: dict) -> dict[int, list[str]]:
    """Which step each field with an error belongs to (for ValidationFailed.details)."""
    where: dict[int, list[str]] = {}
    placed: set[str] = set()
    for step in rendered.steps:
        names = [n for n in step.fields if n in details]
        placed.update(names)
        if step.is_confirmation:
            names += [n for n in details if n not in placed]
        if names:
            where[step.number] = names
    return where


ERROR_SUMMARY_TITLE = gettext_lazy("There is a problem")
