from __future__ import annotations

import pytest

from catalogue.models import Procedure
from catalogue.selectors import procedure_get, procedures_offered
from core.errors import NotFound

pytestmark = pytest.mark.django_db


def test_procedure_get_returns_an_active_procedure(loaded_catalogue):
    assert procedure_get(code="bulky-items").code == "bulky-items"
    assert procedure_get(code="bulky-items", channel="web").code == "bulky-items"


@pytest.mark.parametrize("code", ["nope", "", "../etc/passwd", "BULKY-ITEMS"])
def test_procedure_get_raises_not_found_for_unknown_codes(loaded_catalogue, code):
    with pytest.raises(NotFound) as excinfo:
        procedure_get(code=code)
    assert excinfo.value.status == 404
    assert excinfo.value.code == "unknown_procedure"


def test_procedure_get_refuses_a_channel_that_does_not_offer_it(loaded_catalogue):
    with pytest.raises(NotFound):
        procedure_get(code="digital-key-activation", channel="web")
    assert procedure_get(code="digital-key-activation", channel="counter")
    with pytest.raises(NotFound) as excinfo:
        procedure_get(code="life", channel="fax")
    assert excinfo.value.code == "unknown_channel"


def test_procedure_get_hides_inactive_procedures(loaded_catalogue):
    Procedure.objects.filter(code="life").update(active=False)
    with pytest.raises(NotFound):
        procedure_get(code="life")


def test_procedures_offered_filters_by_channel_and_category(loaded_catalogue):
    kiosk = list(procedures_offered(channel="kiosk"))
    assert all(p.offered_kiosk and p.active for p in kiosk)
    assert "greening" not in {p.code for p in kiosk}
    population = list(procedures_offered(channel="web", category="population"))
    assert len(population) == 10
    assert [p.sort_order for p in population] == sorted(p.sort_order for p in population)
    assert list(procedures_offered(channel="web", category="no-such-category")) == []
    with pytest.raises(NotFound):
        procedures_offered(channel="fax")
