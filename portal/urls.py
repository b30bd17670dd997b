from django.urls import path, re_path

from portal import views

app_name = "portal"
urlpatterns = [
    path("search/", views.search, name="search"),
    path("procedure/<slug:code>/", views.procedure_page, name="procedure"),
    # Wagtail's own page pattern, served behind the page cache. Mounted before
    # wagtail.urls (config/urls.py), so it answers for every page; Wagtail's "_util/"
    # views (password-protected pages) are left to wagtail.urls.
    re_path(r"^(?!_util/)((?:[\w\-]+/)*)$", views.serve_page, name="page"),
]
