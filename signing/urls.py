from django.urls import path

from signing import views

app_name = "signing"
urlpatterns = [
    path("", views.verify, name="verify"),
    path("documents/<str:code>/download/", views.download, name="download"),
    path("documents/<str:code>/sign/", views.citizen_sign, name="citizen_sign"),
]
