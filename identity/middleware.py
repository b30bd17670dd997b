"""Staff reach the back office only after a second factor (django-otp)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.shortcuts import redirect, render
from django.urls import reverse

from identity.selectors import is_staff_member

# Where an unverified staff member may still go: the login and logout of the admin.
OPEN_ADMIN_PATHS = ("/admin/login/", "/admin/logout/", "/admin/jsi18n/")
ROLE_ADMIN_PATHS = ("/admin/lra/", "/admin/access/")


class StaffSecondFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path
        user = getattr(request, "user", None)
        if (path.startswith("/admin/") and not path.startswith(OPEN_ADMIN_PATHS)
                and user is not None and user.is_authenticated
                and is_staff_member(user) and not user.is_verified()):
            target = reverse("identity:staff_verify")
            return redirect(f"{target}?{urlencode({'next': request.get_full_path()})}")
        if (path.startswith(ROLE_ADMIN_PATHS) and user is not None and user.is_authenticated
                and not is_staff_member(user)):
            # A logged-in citizen on the officer screens: a plain refusal, not Wagtail's
            # redirect to the staff login.
            return render(request, "identity/forbidden.html", status=403)
        return self.get_response(request)
