"""Forms of the identity app: parsing only; the rules live in identity.services."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from identity.constants import DocumentCheck, DocumentType, Gender

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class EmailLoginForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"), max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "email"}))


class CodeForm(forms.Form):
    code = forms.CharField(label=_("Security code"), max_length=12,
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code",
                                                         "inputmode": "numeric"}))


class TotpLoginForm(forms.Form):
    """Shown on the same page as EmailLoginForm: its own ids keep labels unambiguous."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "totp_%s")
        super().__init__(*args, **kwargs)

    email = forms.EmailField(label=_("E-mail address"), max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    code = forms.CharField(label=_("Code shown by your authenticator app"), max_length=12,
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code",
                                                         "inputmode": "numeric"}))


class ActivationCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Activation code"), max_length=40,
        help_text=_("The code printed on the start card you received at the counter, for "
                    "example ABCD-EFGH-JKMN."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters",
                                      "spellcheck": "false"}))


class TotpSetupForm(forms.Form):
    name = forms.CharField(label=_("Name of this key"), max_length=80, required=False,
                           help_text=_("For example: my phone."))
    code = forms.CharField(label=_("Code shown by the app"), max_length=12,
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code",
                                                         "inputmode": "numeric"}))


class KeyRenameForm(forms.Form):
    name = forms.CharField(label=_("New name"), max_length=80)


class StaffTokenForm(forms.Form):
    token = forms.CharField(
        label=_("Code from your authenticator app, or a backup code"), max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True,
                                      "autocapitalize": "none", "spellcheck": "false"}))


class StaffEnrolForm(forms.Form):
    code = forms.CharField(
        label=_("6-digit code shown by the app"), max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                      "autofocus": True}))


class StaffSecondFactorForm(forms.Form):
    """Confirms a change of one's own second factor with a fresh code."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "sf_%s")
        super().__init__(*args, **kwargs)

    token = forms.CharField(
        label=_("Code from your authenticator app, or a backup code"), max_length=40,
        help_text=_("Needed to confirm the change."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code",
                                      "autocapitalize": "none", "spellcheck": "false"}))


# --- LRA officer ------------------------------------------------------------------------

class RegisterSearchForm(forms.Form):
    number = forms.CharField(label=_("National register or BIS number"), max_length=20,
                             required=False,
                             help_text=_("11 digits; dots, dashes and spaces are allowed."))
    last_name = forms.CharField(label=_("Last name"), max_length=200, required=False)
    birth_date = forms.DateField(label=_("Birth date"), required=False, widget=DATE_WIDGET)

    def clean(self):
        data = super().clean()
        if not data.get("number") and not (data.get("last_name") and data.get("birth_date")):
            raise forms.ValidationError(
                _("Search by number, or by last name and birth date."))
        return data


class BisRegistrationForm(forms.Form):
    first_names = forms.CharField(label=_("First names"), max_length=200)
    last_name = forms.CharField(label=_("Last name"), max_length=200)
    birth_date = forms.DateField(label=_("Birth date"), widget=DATE_WIDGET)
    birth_place = forms.CharField(label=_("Birth place"), max_length=200, required=False)
    gender = forms.ChoiceField(label=_("Gender"), choices=Gender.choices)
    nationality = forms.CharField(label=_("Nationality (two-letter country code)"),
                                  max_length=2, min_length=2)
    document_type = forms.ChoiceField(label=_("Identity document checked"),
                                      choices=DocumentType.choices)
    document_number = forms.CharField(label=_("Document number"), max_length=40)
    issuing_country = forms.CharField(label=_("Issuing country (two-letter code)"),
                                      max_length=2, min_length=2)
    expires_on = forms.DateField(label=_("Document expiry date"), widget=DATE_WIDGET)
    checked_with = forms.ChoiceField(label=_("Document checked with"),
                                     choices=DocumentCheck.choices, widget=forms.RadioSelect)


class ActivationIssueForm(forms.Form):
    email = forms.EmailField(label=_("Citizen's e-mail address"), max_length=254)
    language = forms.ChoiceField(label=_("Language of the e-mail and the start card"),
                                 choices=settings.LANGUAGES)
