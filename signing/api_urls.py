from django.urls import path

from signing import api

urlpatterns = [
    path("verify/v1/", api.VerifyView.as_view(), name="signing-api-verify"),
]
