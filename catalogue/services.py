"""Writes of the catalogue: loading the versioned catalogue file.

The file (catalogue/data/procedures.json) is the reviewed source of the city's procedures. It
is loaded all or nothing: one invalid entry refuses the whole file, so a deployment never
runs with half a catalogue. Editors then refine procedures in the Wagtail admin; a later
load keeps those edits unless asked to overwrite them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from catalogue.constants import Channel
from catalogue.errors import CatalogueFileInvalid
from catalogue.models import Procedure

DEFAULT_CATALOGUE_FILE = Path(__file__).resolve().parent / "data" / "procedures.json"

ENTRY_KEYS = {
    "code", "name", "summary", "keywords", "category", "department", "workflow_kind",
    "delivery", "channels", "fees", "required_assurance_level", "sla_days",
    "one_open_case_per_person", "attachments", "form_schema", "sort_order", "active",
}
REQUIRED_ENTRY_KEYS = {"code", "name", "category", "department", "workflow_kind", "delivery",
                       "channels", "fees", "form_schema"}
# Model fields the file sets; anything else (revisions, timestamps) is the database's.
LOADED_FIELDS = [
    *(f"name_{lang}" for lang in settings.LANGUAGE_CODES),
    *(f"summary_{lang}" for lang in settings.LANGUAGE_CODES),
    "keywords", "category", "department", "workflow_kind", "delivery",
    *(f"offered_{c.value}" for c in Channel),
    *(f"fee_{c.value}" for c in Channel),
    "required_assurance_level", "sla_days", "one_open_case_per_person", "attachments",
    "form_schema", "sort_order", "active",
]


@dataclass
class CatalogueLoadReport:
    version: int
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    # Edited in the admin since the last load, left as the editor saved them.
    kept: list[str] = field(default_factory=list)
    # In the database but no longer in the file: never deleted (cases point at them).
    not_in_file: list[str] = field(default_factory=list)


def catalogue_read(path: Path | str = DEFAULT_CATALOGUE_FILE) -> Any:
    """The parsed catalogue file; CatalogueFileInvalid when it is missing or not JSON."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise CatalogueFileInvalid(
            _("The catalogue file cannot be read: %(error)s") % {"error": exc.strerror},
            details={"file": [str(path)]}) from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CatalogueFileInvalid(
            _("The catalogue file is not valid JSON: %(error)s") % {"error": exc},
            details={"file": [str(exc)]}) from exc


def _language_map(value: Any, key: str, problems: list[str]) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        problems.append(_("%(key)s must map each language to a text.") % {"key": key})
        return {}
    return value


def _entry_values(entry: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    """Model field values for one file entry; shape problems are appended to `problems`."""
    unknown = sorted(set(entry) - ENTRY_KEYS)
    if unknown:
        problems.append(_("Unknown keys: %(keys)s.") % {"keys": ", ".join(unknown)})
    missing = sorted(REQUIRED_ENTRY_KEYS - set(entry))
    if missing:
        problems.append(_("Missing keys: %(keys)s.") % {"keys": ", ".join(missing)})
    names = _language_map(entry.get("name"), "name", problems)
    summaries = _language_map(entry.get("summary", {}), "summary", problems)
    channels = entry.get("channels", [])
    valid_channels = set(Channel.values)
    if not isinstance(channels, list) or not set(channels) <= valid_channels:
        problems.append(_("channels must be a list among: %(channels)s.")
                        % {"channels": ", ".join(Channel.values)})
        channels = []
    fees = entry.get("fees", {})
    if (not isinstance(fees, dict) or not set(fees) <= valid_channels
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                       for v in fees.values())):
        problems.append(_("fees must map channels to whole, non-negative amounts in cents."))
        fees = {}
    values: dict[str, Any] = {}
    for lang in settings.LANGUAGE_CODES:
        values[f"name_{lang}"] = names.get(lang, "")
        values[f"summary_{lang}"] = summaries.get(lang, "")
    for channel in Channel.values:
        values[f"offered_{channel}"] = channel in channels
        values[f"fee_{channel}"] = fees.get(channel, 0)
    defaults = {"keywords": "", "required_assurance_level": 2, "sla_days": 5,
                "one_open_case_per_person": True, "attachments": [], "form_schema": {},
                "sort_order": 100, "active": True}
    for key in ("keywords", "category", "department", "workflow_kind", "delivery",
                "required_assurance_level", "sla_days", "one_open_case_per_person",
                "attachments", "form_schema", "sort_order", "active"):
        values[key] = entry.get(key, defaults.get(key))
    return values


def _messages(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [f"{name}: {message}" for name, messages in error.message_dict.items()
                for message in messages]
    return list(error.messages)


@transaction.atomic
def catalogue_load(*, data: Any, overwrite_edits: bool = False) -> CatalogueLoadReport:
    """Create or update every procedure of a parsed catalogue file, all or nothing.

    Each entry is checked with the model's full validation (form definition, attachments,
    choices) before anything is written; CatalogueFileInvalid names each bad procedure and
    its problems. A procedure whose content changes gets a new Wagtail revision, so editors
    see in its history what the file changed. Procedures edited in the admin since the last
    load are kept unless `overwrite_edits`.
    """
    if not isinstance(data, dict) or not isinstance(data.get("procedures"), list):
        raise CatalogueFileInvalid(
            _('The catalogue file must be an object with a "procedures" list.'),
            details={"file": [_('Expected {"version": N, "procedures": [...]}.')]})
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise CatalogueFileInvalid(
            _("The catalogue file needs a version number (a whole number from 1)."),
            details={"file": [_("Invalid version: %(version)r") % {"version": version}]})

    problems: dict[str, list[str]] = {}
    planned: list[tuple[Procedure, dict[str, Any], bool]] = []
    seen: set[str] = set()
    existing = {p.code: p for p in Procedure.objects.select_related("latest_revision")}
    for position, entry in enumerate(data["procedures"], start=1):
        label = f"#{position}"
        if not isinstance(entry, dict):
            problems[label] = [_("Each procedure must be an object.")]
            continue
        code = entry.get("code")
        if isinstance(code, str) and code:
            label = code
        entry_problems: list[str] = []
        if label in seen:
            entry_problems.append(_("This code appears more than once in the file."))
        seen.add(label)
        values = _entry_values(entry, entry_problems)
        found = existing.get(code) if isinstance(code, str) else None
        is_new = found is None
        instance = found or Procedure(code=code if isinstance(code, str) else "")
        for name, value in values.items():
            setattr(instance, name, value)
        try:
            instance.full_clean()
        except ValidationError as exc:
            entry_problems.extend(_messages(exc))
        if entry_problems:
            problems[label] = entry_problems
        else:
            planned.append((instance, values, is_new))
    if problems:
        raise CatalogueFileInvalid(
            _("The catalogue file was refused, nothing was changed: %(count)s procedure(s) "
              "are invalid.") % {"count": len(problems)},
            details=problems)

    report = CatalogueLoadReport(version=version)
    for instance, values, is_new in planned:
        if is_new:
            instance.save()
            instance.save_revision(log_action="wagtail.create", clean=False)
            report.created.append(instance.code)
            continue
        stored = Procedure.objects.get(pk=instance.pk)
        if all(getattr(stored, name) == value for name, value in values.items()):
            report.unchanged.append(instance.code)
            continue
        latest = stored.latest_revision
        if latest is not None and latest.user_id is not None and not overwrite_edits:
            report.kept.append(instance.code)
            continue
        instance.save()
        instance.save_revision(log_action=True, clean=False)
        report.updated.append(instance.code)
    report.not_in_file = sorted(set(existing) - seen)
    return report
