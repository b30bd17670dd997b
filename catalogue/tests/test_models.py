from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from catalogue.models import Procedure

pytestmark = pytest.mark.django_db


def test_fee_and_offer_are_read_per_channel(loaded_catalogue):
    life = loaded_catalogue["life"]
    assert life.fee_for("web") == 0
    assert life.fee_for("counter") == 500
    passport = loaded_catalogue["passport-appointment"]
    assert passport.fee_for("kiosk") == 8500
    greening = loaded_catalogue["greening"]
    assert greening.offers("web") and not greening.offers("kiosk")
    assert greening.channels == ["web", "mobile", "counter"]


def test_an_unknown_channel_is_a_value_error(loaded_catalogue):
    with pytest.raises(ValueError):
        loaded_catalogue["life"].fee_for("fax")
    with pytest.raises(ValueError):
        loaded_catalogue["life"].offers("fax")


def test_offered_on_lists_only_active_procedures_of_that_channel(loaded_catalogue):
    Procedure.objects.filter(code="life").update(active=False)
    kiosk_codes = set(Procedure.objects.offered_on("kiosk").values_list("code", flat=True))
    assert "life" not in kiosk_codes
    assert "household-composition" in kiosk_codes
    assert "greening" not in kiosk_codes
    assert "digital-key-activation" not in kiosk_codes


def test_an_active_procedure_offered_nowhere_is_invalid(loaded_catalogue):
    life = loaded_catalogue["life"]
    life.offered_web = life.offered_mobile = life.offered_kiosk = life.offered_counter = False
    with pytest.raises(ValidationError) as excinfo:
        life.full_clean()
    assert "active" in excinfo.value.message_dict
    life.active = False
    life.full_clean()


def test_name_follows_the_active_language(loaded_catalogue):
    from django.utils import translation

    procedure = loaded_catalogue["bulky-items"]
    with translation.override("nl"):
        assert procedure.name == "Ophaling van grofvuil aan huis"
    with translation.override("de"):
        assert str(procedure) == "Sperrmüllabholung zu Hause"
