from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from kiosk_api.constants import Branch
from kiosk_api.models import Terminal


class TerminalDetailsForm(forms.Form):
    """Where a terminal stands and which Stripe Terminal location its card reader uses."""

    branch = forms.ChoiceField(label=_("Branch"), choices=Branch.choices)
    location = forms.CharField(label=_("Location in the branch"), max_length=200,
                               required=False)
    stripe_location = forms.RegexField(
        label=_("Stripe Terminal location"), max_length=64, required=False,
        regex=r"^tml_[A-Za-z0-9]+$",
        error_messages={"invalid": _("A Stripe Terminal location id starts with tml_.")},
        help_text=_("The Stripe Terminal location id of the card reader (tml_...), if any."))


class TerminalRegisterForm(TerminalDetailsForm):
    code = forms.SlugField(label=_("Code"), max_length=40,
                           help_text=_("A short name printed on the terminal, e.g. centre-01."))
    field_order = ["code", "branch", "location", "stripe_location"]

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].lower()
        if Terminal.objects.filter(code=code).exists():
            raise forms.ValidationError(_("A terminal with this code already exists."))
        return code


class TerminalDisableForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500,
                             widget=forms.Textarea(attrs={"rows": 2}))


class PeriodForm(forms.Form):
    start = forms.DateField(label=_("From"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To (included)"), required=False,
                          widget=forms.DateInput(attrs={"type": "date"}))

    def period(self, *, today: dt.date) -> tuple[dt.date, dt.date]:
        """The chosen period; by default the current month up to today."""
        start, end = today.replace(day=1), today
        if self.is_bound and self.is_valid():
            start = self.cleaned_data.get("start") or start
            end = self.cleaned_data.get("end") or end
        if end < start:
            start, end = end, start
        return start, end
