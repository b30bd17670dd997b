from __future__ import annotations

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Verification code"), max_length=64, strip=True,
        help_text=_("As printed at the bottom of the document, for example "
                    "ABCD-EFGH-IJKL-MNOP-QRST."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false",
                                      "autocapitalize": "characters"}))


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("PDF document"),
        help_text=_("The PDF file exactly as you received it (at most %(size)s).")
        % {"size": filesizeformat(settings.SIGNING_VERIFY_MAX_UPLOAD_BYTES)},
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,.pdf"}))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.SIGNING_VERIFY_MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                _("The file is too large (at most %(size)s).")
                % {"size": filesizeformat(settings.SIGNING_VERIFY_MAX_UPLOAD_BYTES)},
                code="too_large")
        return upload


class CitizenSignForm(forms.Form):
    credential_id = forms.CharField(
        label=_("Signing credential"), max_length=200,
        help_text=_("The identifier of your signing certificate at the signing service."))
    pin = forms.CharField(label=_("PIN"), max_length=64, required=False,
                          widget=forms.PasswordInput(attrs={"autocomplete": "off"}))
    otp = forms.CharField(label=_("One-time code"), max_length=32, required=False,
                          widget=forms.TextInput(attrs={"autocomplete": "one-time-code",
                                                        "inputmode": "numeric"}))


class RevokeForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=2000, widget=forms.Textarea(
        attrs={"rows": 3}))
