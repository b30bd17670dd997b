"""The terminal API alone, at its public prefix: the schema terminal vendors code against
(/api/kiosk/v1/schema/) without the other APIs of the platform."""

from django.urls import include, path

urlpatterns = [path("api/kiosk/v1/", include("kiosk_api.urls"))]
