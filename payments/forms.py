from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from payments.providers import registry


class AmountField(forms.DecimalField):
    """A euro amount typed by staff ("7,00" or "7.00"), cleaned to cents."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 8)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("min_value", Decimal("0.01"))
        kwargs.setdefault("localize", True)
        super().__init__(**kwargs)

    def to_python(self, value):
        if isinstance(value, str):
            value = value.replace("€", "").replace("\u00a0", "").strip()
            if value.count(",") == 1 and "." not in value:
                value = value.replace(",", ".")
        return super().to_python(value)

    def clean(self, value):
        amount = super().clean(value)
        return None if amount is None else int((amount * 100).to_integral_value())


class RefundForm(forms.Form):
    amount = AmountField(label=_("Amount to refund (€)"))
    reason = forms.CharField(label=_("Reason"), max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=_("Kept in the payment ledger and the case history."))


class CounterPaymentForm(forms.Form):
    provider = forms.ChoiceField(label=_("Paid by"), widget=forms.RadioSelect)
    amount = AmountField(label=_("Amount received (€)"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"].choices = [
            (p.identifier, p.verbose_name) for p in registry
            if p.identifier in ("counter_cash", "counter_card")]


class ReportDayForm(forms.Form):
    day = forms.DateField(label=_("Day"), widget=forms.DateInput(attrs={"type": "date"}))
