from django.urls import path

from identity import views

app_name = "identity"
urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("login/email/", views.login_email_view, name="login_email"),
    path("login/email/code/", views.login_email_code_view, name="login_email_code"),
    path("login/app/", views.login_totp_view, name="login_totp"),
    path("login/passkey/options/", views.login_passkey_options_view,
         name="login_passkey_options"),
    path("login/passkey/", views.login_passkey_view, name="login_passkey"),
    path("logout/", views.logout_view, name="logout"),
    path("activate/<str:token>/", views.activate_view, name="activate"),
    path("keys/", views.keys_view, name="keys"),
    path("keys/new/", views.key_new_view, name="key_new"),
    path("keys/new/email/", views.key_new_email_view, name="key_new_email"),
    path("keys/new/app/", views.key_new_totp_view, name="key_new_totp"),
    path("keys/new/passkey/", views.key_new_passkey_view, name="key_new_passkey"),
    path("keys/new/passkey/options/", views.key_new_passkey_options_view,
         name="key_new_passkey_options"),
    path("keys/new/passkey/finish/", views.key_new_passkey_finish_view,
         name="key_new_passkey_finish"),
    path("keys/<int:key_id>/rename/", views.key_rename_view, name="key_rename"),
    path("keys/<int:key_id>/revoke/", views.key_revoke_view, name="key_revoke"),
    path("staff/verify/", views.staff_verify_view, name="staff_verify"),
    path("staff/enrol/", views.staff_enrol_view, name="staff_enrol"),
]
