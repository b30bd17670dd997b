"""Floor views: what Django itself costs on this machine, with no database and no CMS."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

# Enough rows for the floor page to weigh what a portal page weighs (7 to 9 kB).
_ITEMS = [{"title": f"Service {n}", "url": f"/fr/service-{n}/",
           "summary": "Une démarche de la Ville, expliquée en quelques mots simples."}
          for n in range(24)]


def bare_template(request: HttpRequest) -> HttpResponse:
    return render(request, "bench/portal_floor.html", {"items": _ITEMS, "title": "Floor"})


def bare_text(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")
