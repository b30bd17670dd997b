"""The product's URLs plus the two floor views the portal is measured against."""

from django.urls import path

from bench import portal_views
from config.urls import handler404, handler500  # noqa: F401
from config.urls import urlpatterns as product_urlpatterns

urlpatterns = [
    path("bench/floor/template/", portal_views.bare_template),
    path("bench/floor/text/", portal_views.bare_text),
    *product_urlpatterns,
]
