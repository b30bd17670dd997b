"""E-mails of the identity app, in the citizen's language."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

if TYPE_CHECKING:
    from identity.models import Activation, User


def _absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def activation_url(*, link_token: str, language: str) -> str:
    with translation.override(language):
        return _absolute(reverse("identity:activate", args=[link_token]))


def send_activation_link(*, activation: Activation, link_token: str) -> None:
    with translation.override(activation.language):
        context = {
            "person": activation.person,
            "url": activation_url(link_token=link_token, language=activation.language),
            "expires_at": activation.expires_at,
        }
        subject = render_to_string("identity/email/activation_subject.txt", context).strip()
        body = render_to_string("identity/email/activation_body.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [activation.email])


def send_email_code(*, user: User, code: str, purpose: str) -> None:
    with translation.override(user.preferred_language or settings.LANGUAGE_CODE):
        context = {"user": user, "code": code, "purpose": purpose,
                   "minutes": settings.IDENTITY_EMAIL_OTP_MINUTES}
        subject = render_to_string("identity/email/code_subject.txt", context).strip()
        body = render_to_string("identity/email/code_body.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
