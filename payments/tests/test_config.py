"""Settings checks, the development starter, money parsing, and provider edge cases."""

from __future__ import annotations

import subprocess
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from hypothesis import given
from hypothesis import strategies as st

from core.errors import Conflict
from payments import devstripe, services
from payments.constants import PaymentState, ProviderState
from payments.forms import AmountField
from payments.models import Payment
from payments.providers import ProviderStatus, registry
from payments.providers.stripe import check_not_localstripe
from payments.templatetags.payments_tags import money
from payments.tests.conftest import _free_port


def test_every_provider_is_registered():
    assert {p.identifier for p in registry} == {"stripe", "stripe_terminal", "counter_cash",
                                                   "counter_card", "free"}
    assert "kiosk" in registry["stripe"].channels and "counter" not in registry["stripe"].channels


def test_deploy_check_flags_the_localstripe_defaults(settings):
    settings.STRIPE_API_BASE = "http://127.0.0.1:8420"
    settings.STRIPE_SECRET_KEY = "sk_test_localstripe"
    assert [m.id for m in check_not_localstripe()] == ["payments.W001"]
    settings.STRIPE_API_BASE = "https://api.stripe.com"
    settings.STRIPE_SECRET_KEY = "sk_live_from_env"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_live_from_env"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_from_env"
    assert check_not_localstripe() == []


def test_a_secret_key_that_is_not_stripes_fails_the_system_check(settings):
    settings.STRIPE_SECRET_KEY = "pk_wrong_kind"
    with pytest.raises(SystemCheckError, match="payments.E001"):
        call_command("check", "--tag", "payments")


def test_dev_starter_reuses_a_running_localstripe(localstripe, settings):
    settings.STRIPE_API_BASE = localstripe
    settings.SITE_URL = "http://127.0.0.1:8000"
    assert devstripe.start_localstripe() is None


def test_dev_starter_starts_localstripe_when_none_runs(settings, tmp_path):
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{_free_port()}"
    settings.VAR_DIR = tmp_path
    process = devstripe.start_localstripe()
    try:
        assert isinstance(process, subprocess.Popen)
        assert devstripe._reachable(settings.STRIPE_API_BASE)
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=10)


def test_dev_starter_leaves_real_stripe_alone(settings):
    settings.STRIPE_API_BASE = "https://api.stripe.com"
    assert devstripe.start_localstripe() is None


@given(st.integers(min_value=1, max_value=999_999_99))
def test_amounts_typed_by_staff_become_exact_cents(cents):
    field = AmountField()
    text = f"{Decimal(cents) / 100:.2f}"
    assert field.clean(text) == cents
    assert field.clean(text.replace(".", ",")) == cents
    assert field.clean("€ " + text.replace(".", ",")) == cents


@pytest.mark.parametrize("bad", ["", "abc", "0", "-1", "1.001", "1e3x"])
def test_bad_amounts_are_form_errors(bad):
    from django import forms

    with pytest.raises(forms.ValidationError):
        AmountField().clean(bad)


def test_money_filter_formats_in_the_active_language():
    from django.utils import translation

    with translation.override("fr"):
        assert money(1250) == "12,50\u00a0€"
    with translation.override("nl"):
        assert money(1250) == "€\u00a012,50"
    assert money("x") == ""


@pytest.mark.django_db
def test_stripe_unreachable_is_a_clear_error_and_a_retry_reuses_the_attempt(case, settings,
                                                                            localstripe):
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(services.ProviderUnavailable):
        services.payment_start(case=case, provider="stripe")
    payment = Payment.objects.get(case=case)
    assert payment.state == PaymentState.PENDING and payment.provider_reference == ""
    settings.STRIPE_API_BASE = localstripe
    again = services.payment_start(case=case, provider="stripe")
    assert again.pk == payment.pk and again.provider_reference.startswith("pi_")


@pytest.mark.django_db
def test_pay_page_when_stripe_is_down_says_so_without_a_500(client, case, settings):
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{_free_port()}"
    client.force_login(case.requester)
    response = client.get(f"/en/pay/{case.reference}/")
    assert response.status_code == 503
    assert "Online payment is unavailable right now" in response.content.decode()


@pytest.mark.django_db
def test_an_amount_other_than_the_fee_never_settles(case):
    payment = services.payment_start(case=case, provider="stripe")
    after = services.payment_settle(payment=payment, provider_state=ProviderStatus(
        state=ProviderState.SUCCEEDED, reference=payment.provider_reference, amount_cents=1))
    assert after.state == PaymentState.PENDING
    case.refresh_from_db()
    assert case.state == "awaiting_payment"


@pytest.mark.django_db
def test_free_provider_settles_a_zero_fee_at_once(case):
    case.fee_cents = 0
    case.save(update_fields=["fee_cents"])
    payment = services.payment_start(case=case, provider="free")
    assert payment.state == PaymentState.SUCCEEDED and payment.amount_cents == 0
    case.refresh_from_db()
    assert case.state == "in_progress"
    with pytest.raises(Conflict):
        services.payment_start(case=case, provider="free")


@pytest.mark.django_db
def test_demo_command_gives_groups_their_permissions_and_is_idempotent(capsys):
    from django.contrib.auth.models import Group

    call_command("payments_demo")
    call_command("payments_demo")
    counter = Group.objects.get(name="Counter agent")
    assert counter.permissions.filter(codename="record_counter_payment").count() == 1
    supervisors = Group.objects.get(name="Case supervisor")
    assert supervisors.permissions.filter(codename="view_payment_report").exists()
    assert not supervisors.permissions.filter(codename="refund_payment").exists()
    assert "4242 4242 4242 4242" in capsys.readouterr().out
