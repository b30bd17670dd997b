"""Citizen pages of the CIRM, mounted under /<lang>/requests/."""

from django.urls import path

from crm import views

app_name = "crm"
urlpatterns = [
    path("", views.my_requests, name="my_requests"),
    path("new/<slug:code>/", views.procedure_start, name="procedure_start"),
    path("new/<slug:code>/delete-draft/", views.draft_delete, name="draft_delete"),
    path("<str:reference>/", views.case_detail, name="case_detail"),
    path("<str:reference>/sent/", views.confirmation, name="confirmation"),
    path("<str:reference>/reply/", views.case_reply, name="case_reply"),
    path("<str:reference>/cancel/", views.case_cancel, name="case_cancel"),
]
