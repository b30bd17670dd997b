"""Small forms of the citizen area and the back office (the procedure forms themselves are
rendered from the catalogue in crm.form_render)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from catalogue.constants import Channel

BODY_MAX = 5000
NO_AUTOCOMPLETE = {"autocomplete": "off"}


class CitizenMessageForm(forms.Form):
    """A message from the citizen, or their answer when the agent asked for information."""

    body = forms.CharField(label=_("Your message"), max_length=BODY_MAX, strip=True,
                           widget=forms.Textarea(attrs={"rows": 5}))
    attachment = forms.FileField(label=_("Add a file (optional)"), required=False,
                                 allow_empty_file=False)


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Why do you cancel this request?"), max_length=1000,
                             strip=True, widget=forms.Textarea(attrs={"rows": 3}))


# --- back office -----------------------------------------------------------------------


class NoteForm(forms.Form):
    body = forms.CharField(label=_("Internal note"), max_length=BODY_MAX, strip=True,
                           widget=forms.Textarea(attrs={"rows": 3}))


class MessageForm(forms.Form):
    body = forms.CharField(label=_("Message to the citizen"), max_length=BODY_MAX, strip=True,
                           widget=forms.Textarea(attrs={"rows": 3}))


class RequestInformationForm(forms.Form):
    message = forms.CharField(label=_("What does the citizen need to send or tell?"),
                              max_length=BODY_MAX, strip=True,
                              widget=forms.Textarea(attrs={"rows": 3}))


class ApproveForm(forms.Form):
    note = forms.CharField(label=_("Note (optional)"), max_length=BODY_MAX, required=False,
                           strip=True, widget=forms.Textarea(attrs={"rows": 2}))


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("Reason for the refusal (sent to the citizen)"),
                             max_length=BODY_MAX, strip=True,
                             widget=forms.Textarea(attrs={"rows": 3}))


class EscalateForm(forms.Form):
    note = forms.CharField(label=_("Why escalate to a supervisor?"), max_length=BODY_MAX,
                           strip=True, widget=forms.Textarea(attrs={"rows": 2}))


class CancelCaseForm(forms.Form):
    reason = forms.CharField(label=_("Reason for the cancellation"), max_length=1000,
                             strip=True, widget=forms.Textarea(attrs={"rows": 2}))


class AssignForm(forms.Form):
    agent = forms.ModelChoiceField(label=_("Assign to"), queryset=get_user_model().objects.none())

    def __init__(self, *args: Any, agents: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["agent"].queryset = agents


class QuickSelect(forms.Select):
    """A <select> written in Python. Django renders each <option> through a template,
    some 0.1 to 0.2 ms apiece; the list filters have about a hundred options and sit on
    the busiest page of the back office. Same markup, same attributes, no option groups
    (the filters have none)."""

    def render(self, name: str, value: Any, attrs: dict | None = None,
               renderer: Any = None) -> str:
        final = self.build_attrs(self.attrs, attrs)
        chosen = {str(v) for v in self.format_value(value)}
        options = format_html_join(
            "", "<option value=\"{}\"{}>{}</option>",
            ((str(v), mark_safe(" selected") if str(v) in chosen else "", label)  # noqa: S308
             for v, label in self.choices))
        return format_html("<select name=\"{}\"{}>{}</select>", name, flatatt(final), options)


class SlaFilter:
    NEAR = "near"
    PAST = "past"
    CHOICES = [("", _("Any")), (NEAR, _("Due soon")), (PAST, _("Overdue"))]


class CaseFilterForm(forms.Form):
    """The back-office list filters. Every field optional; invalid values are ignored."""

    q = forms.CharField(label=_("Search"), required=False, max_length=100,
                        widget=forms.TextInput(attrs={
                            "type": "search", "placeholder": _("Reference or name")}))
    queue = forms.ChoiceField(label=_("Queue"), required=False, widget=QuickSelect)
    state = forms.ChoiceField(label=_("State"), required=False, widget=QuickSelect)
    procedure = forms.ChoiceField(label=_("Procedure"), required=False, widget=QuickSelect)
    channel = forms.ChoiceField(label=_("Channel"), required=False, widget=QuickSelect,
                                choices=[("", _("Any")), *Channel.choices])
    sla = forms.ChoiceField(label=_("Service level"), required=False, widget=QuickSelect,
                            choices=SlaFilter.CHOICES)
    assignee = forms.ChoiceField(label=_("Assignee"), required=False, widget=QuickSelect)

    def __init__(self, *args: Any, queues: Any, states: Any, procedures: Any, agents: Any,
                 me: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["queue"].choices = [("", _("All my queues")),
                                        *[(q.code, q.name) for q in queues]]
        self.fields["state"].choices = [("", _("Any")), *states]
        self.fields["procedure"].choices = [("", _("Any")),
                                            *[(p.code, p.name) for p in procedures]]
        self.fields["assignee"].choices = [
            ("", _("Anyone")), ("me", _("Me")), ("none", _("Unassigned")),
            *[(str(a.pk), a.get_full_name() or a.get_username()) for a in agents if a != me]]

    def filters(self) -> dict[str, str]:
        """The valid, non-empty filters as plain strings (for the selector and the URLs)."""
        if not self.is_valid():
            return {name: value for name, value in self.cleaned_data.items() if value}
        return {name: value for name, value in self.cleaned_data.items() if value}


class BulkAssignForm(forms.Form):
    reference = forms.MultipleChoiceField(label=_("Cases"), choices=[])
    agent = forms.ChoiceField(label=_("Assign to"))

    def __init__(self, *args: Any, references: list[str], agents: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reference"].choices = [(r, r) for r in references]
        self.fields["agent"].choices = [("me", _("Me")), *[
            (str(a.pk), a.get_full_name() or a.get_username()) for a in agents]]


# --- counter mode ----------------------------------------------------------------------


class CounterLookupForm(forms.Form):
    """Find the citizen in the register: by number, or by last name and birth date."""

    number = forms.CharField(label=_("National register or BIS number"), required=False,
                             max_length=20,
                             widget=forms.TextInput(attrs={**NO_AUTOCOMPLETE,
                                                           "inputmode": "numeric"}))
    last_name = forms.CharField(label=_("Last name"), required=False, max_length=200,
                                widget=forms.TextInput(attrs=NO_AUTOCOMPLETE))
    birth_date = forms.DateField(label=_("Birth date"), required=False,
                                 input_formats=["%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y"],
                                 widget=forms.DateInput(attrs={**NO_AUTOCOMPLETE,
                                                               "type": "date"}))

    def clean_number(self) -> str:
        return "".join(ch for ch in self.cleaned_data["number"] if ch.isdigit())

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not cleaned.get("number") and not (cleaned.get("last_name")
                                              and cleaned.get("birth_date")):
            raise forms.ValidationError(
                _("Enter a register number, or a last name and a birth date."))
        number = cleaned.get("number")
        if number and len(number) != 11:
            self.add_error("number", _("A register number has 11 digits."))
        return cleaned


class StatsPeriodForm(forms.Form):
    start = forms.DateField(label=_("From"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), required=False,
                          widget=forms.DateInput(attrs={"type": "date"}))

    def period(self, *, today: dt.date) -> tuple[dt.date, dt.date]:
        """The chosen period; the last twelve months by default."""
        start = end = None
        if self.is_valid():
            start, end = self.cleaned_data.get("start"), self.cleaned_data.get("end")
        end = end or today
        start = start or (end.replace(day=1) - dt.timedelta(days=335)).replace(day=1)
        if start > end:
            start, end = end, start
        return start, end
