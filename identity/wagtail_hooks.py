from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from identity import admin_views
from identity.selectors import can_manage_access, is_lra_officer


@hooks.register("register_admin_urls")
def register_identity_admin_urls():
    return [
        path("lra/", admin_views.SearchView.as_view(), name="identity_lra_search"),
        path("lra/register/", admin_views.RegisterBisView.as_view(),
             name="identity_lra_register"),
        path("lra/person/<int:person_id>/", admin_views.PersonView.as_view(),
             name="identity_lra_person"),
        path("lra/activation/<int:activation_id>/card/", admin_views.StartCardView.as_view(),
             name="identity_lra_startcard"),
        path("lra/activation/<int:activation_id>/revoke/", admin_views.revoke_view,
             name="identity_lra_revoke"),
        path("access/roles/", admin_views.RolesView.as_view(), name="identity_roles"),
        path("access/audit/", admin_views.AuditView.as_view(), name="identity_audit"),
        path("access/second-factor/<int:user_id>/reset/", admin_views.second_factor_reset_view,
             name="identity_second_factor_reset"),
        path("second-factor/", admin_views.SecondFactorView.as_view(),
             name="identity_second_factor"),
    ]


@hooks.register("register_account_menu_item")
def register_second_factor_account_item(request):
    return {"url": reverse("identity_second_factor"), "label": _("My second factor"),
            "help_text": _("See your authenticator app and backup codes, get new backup codes, "
                           "or set up a new phone.")}


class RoleMenuItem(MenuItem):
    def __init__(self, *args, test, **kwargs):
        self.test = test
        super().__init__(*args, **kwargs)

    def is_shown(self, request):
        return self.test(request.user)


@hooks.register("register_admin_menu_item")
def register_lra_menu_item():
    return RoleMenuItem(_("Local Registration"), reverse("identity_lra_search"),
                        name="identity-lra", icon_name="user", order=250, test=is_lra_officer)


@hooks.register("register_admin_menu_item")
def register_roles_menu_item():
    return RoleMenuItem(_("Access management"), reverse("identity_roles"),
                        name="identity-roles", icon_name="group", order=260,
                        test=can_manage_access)


@hooks.register("register_admin_menu_item")
def register_audit_menu_item():
    return RoleMenuItem(_("Identity audit trail"), reverse("identity_audit"),
                        name="identity-audit", icon_name="history", order=261,
                        test=can_manage_access)
