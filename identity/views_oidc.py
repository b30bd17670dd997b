"""The relying party views of mozilla-django-oidc, adapted: the login records the level of
assurance (high: eID or itsme) through identity.services.citizen_login."""

from __future__ import annotations

from django.http import HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from identity import services
from identity.backends import oidc_configured
from identity.constants import AssuranceLevel, LoginMethod


class FederalOIDCRequestView(OIDCAuthenticationRequestView):
    def get(self, request):
        if not oidc_configured():
            return redirect("identity:login")
        return super().get(request)


class FederalOIDCCallbackView(OIDCAuthenticationCallbackView):
    @property
    def failure_url(self):
        return f"{reverse('identity:login')}?failed=oidc"

    def login_failure(self):
        services.login_failed(method=LoginMethod.OIDC, ip=self.request.META.get("REMOTE_ADDR"),
                              reason="oidc")
        return HttpResponseRedirect(self.failure_url)

    def login_success(self):
        services.citizen_login(request=self.request, user=self.user, level=AssuranceLevel.HIGH,
                               method=LoginMethod.OIDC)
        return HttpResponseRedirect(self.success_url)
