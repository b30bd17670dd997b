from django.template import Context, Template
from django.test import RequestFactory
from django.utils import translation

from identity.constants import AssuranceLevel
from identity.selectors import SESSION_ASSURANCE_KEY
from identity.tests.conftest import make_person


def render(request, required):
    template = Template("{% load identity_tags %}{% assurance_gate required %}")
    return template.render(Context({"request": request, "required": required}))


def test_the_gate_explains_how_to_get_a_stronger_key_and_disappears_when_enough(db, client):
    from identity import services

    user = services.citizen_account_for_person(person=make_person(), email="g@example.org")
    request = RequestFactory().get("/fr/requests/new/CODE/")
    request.user = user
    request.session = {SESSION_ASSURANCE_KEY: int(AssuranceLevel.LOW)}
    with translation.override("fr"):
        html = render(request, AssuranceLevel.SUBSTANTIAL)
    assert "niveau substantiel" in html and "faible" in html
    assert "/fr/account/login/?next=/fr/requests/new/CODE/" in html
    request.session = {SESSION_ASSURANCE_KEY: int(AssuranceLevel.SUBSTANTIAL)}
    assert render(request, AssuranceLevel.SUBSTANTIAL).strip() == ""
    with translation.override("de"):
        assert "eID-Karte" in render(request, AssuranceLevel.HIGH)
