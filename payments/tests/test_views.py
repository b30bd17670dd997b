"""The citizen's pay and return pages and the back-office payment screens."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from payments import services
from payments.constants import PaymentState
from payments.models import Payment
from payments.tests.conftest import card_token, make_case, make_citizen, staff

pytestmark = pytest.mark.django_db


def admin_staff(user):
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    return user


def login_staff(client, user):
    """Staff reach the admin after a second factor: log in with a confirmed TOTP device."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def test_pay_page_shows_the_fee_and_the_card_form(client, case, settings):
    client.force_login(case.requester)
    url = reverse("payments:pay", args=[case.reference])
    assert url == f"/fr/pay/{case.reference}/"
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="payment-form"' in html and settings.STRIPE_JS_URL in html
    assert "5,00" in html
    payment = Payment.objects.get(case=case)
    assert payment.client_secret in html
    assert response["Cache-Control"] == "no-store"


def test_pay_page_needs_login_and_the_owner(client, case):
    url = reverse("payments:pay", args=[case.reference])
    response = client.get(url)
    assert response.status_code == 302
    client.force_login(make_citizen())
    assert client.get(url).status_code == 404
    assert client.get(reverse("payments:pay", args=["BXL-2000-999999"])).status_code == 404
    assert not Payment.objects.filter(case=case).exists()


def test_card_confirmation_moves_the_case_and_the_return_page_says_so(client, case, localstripe):
    client.force_login(case.requester)
    client.get(reverse("payments:pay", args=[case.reference]))
    response = client.post(reverse("payments:confirm", args=[case.reference]),
                           {"token": card_token(localstripe)})
    assert response.status_code == 200
    assert response.json()["redirect"] == reverse("payments:return", args=[case.reference])
    page = client.get(response.json()["redirect"])
    assert page.status_code == 200
    case.refresh_from_db()
    assert case.state == "in_progress"
    assert case.get_state_display() in page.content.decode()
    # Paid: the pay page now leads to the receipt of the payment.
    assert client.get(reverse("payments:pay", args=[case.reference])).status_code == 302


def test_a_declined_card_sends_back_to_the_pay_page_with_a_message(client, case, localstripe):
    client.force_login(case.requester)
    client.get(reverse("payments:pay", args=[case.reference]))
    response = client.post(reverse("payments:confirm", args=[case.reference]),
                           {"token": card_token(localstripe, "4000000000000002")},
                           HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 402
    assert response.json()["redirect"] == reverse("payments:pay", args=[case.reference])
    page = client.get(response.json()["redirect"])
    html = page.content.decode()
    assert "Votre tentative précédente n’a pas abouti" in html
    assert "Votre carte a été refusée" in html  # the message of the failed attempt
    assert Payment.objects.filter(case=case).count() == 2  # the failed one and a new attempt
    case.refresh_from_db()
    assert case.state == "awaiting_payment"


def test_confirm_requires_csrf(case, localstripe):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(case.requester)
    response = client.post(reverse("payments:confirm", args=[case.reference]),
                           {"token": "tok_x"})
    assert response.status_code == 403


def test_garbage_token_is_a_clear_error_not_a_500(client, case):
    client.force_login(case.requester)
    client.get(reverse("payments:pay", args=[case.reference]))
    response = client.post(reverse("payments:confirm", args=[case.reference]),
                           {"token": "<script>"})
    assert response.status_code == 400 and response.json()["message"]


# --- back office ---------------------------------------------------------------------------


def test_counter_agent_records_a_payment_and_gets_a_receipt(client, procedure):
    agent = admin_staff(staff("desk", "Counter agent"))
    case = make_case(procedure, make_citizen())
    login_staff(client, agent)
    url = reverse("payments_admin:counter", args=[case.reference])
    assert url == f"/admin/payments/cases/{case.reference}/counter/"
    response = client.post(url, {"provider": "counter_cash", "amount": "5,00"})
    assert response.status_code == 400
    assert "7,00" in response.content.decode()
    response = client.post(url, {"provider": "counter_cash", "amount": "7,00"})
    payment = Payment.objects.get(case=case)
    assert response.status_code == 302
    assert response.url == reverse("payments_admin:receipt", args=[payment.pk])
    receipt = client.get(response.url)
    assert payment.receipt_number in receipt.content.decode()


def test_supervisor_refunds_from_the_back_office(client, case, localstripe, supervisor):
    admin_staff(supervisor)
    payment = services.payment_start(case=case, provider="stripe")
    services.payment_confirm_card(payment=payment, token=card_token(localstripe),
                                  user=case.requester)
    login_staff(client, supervisor)
    page = client.get(reverse("payments_admin:case_payments", args=[case.reference]))
    assert page.status_code == 200
    refund_url = reverse("payments_admin:refund", args=[payment.pk])
    assert refund_url in page.content.decode()
    response = client.post(refund_url, {"amount": "9,00", "reason": "too much"})
    assert response.status_code == 400
    response = client.post(refund_url, {"amount": "2,50", "reason": "Duplicate request"})
    assert response.status_code == 302
    payment.refresh_from_db()
    assert payment.state == PaymentState.PARTIALLY_REFUNDED and payment.refunded_cents == 250


def test_refund_screen_is_refused_to_a_counter_agent(client, case, localstripe):
    agent = admin_staff(staff("desk2", "Counter agent"))
    payment = services.payment_start(case=case, provider="stripe")
    services.payment_confirm_card(payment=payment, token=card_token(localstripe),
                                  user=case.requester)
    login_staff(client, agent)
    response = client.post(reverse("payments_admin:refund", args=[payment.pk]),
                           {"amount": "5,00", "reason": "x"})
    # Wagtail turns PermissionDenied into a redirect to the dashboard with a message.
    assert response.status_code == 302 and response.url == "/admin/"
    payment.refresh_from_db()
    assert payment.refunded_cents == 0


def test_daily_report_page_and_csv(client, procedure, supervisor):
    admin_staff(supervisor)
    agent = staff("desk3", "Counter agent")
    for _ in range(2):
        services.payment_record_counter(case=make_case(procedure, make_citizen()),
                                        provider="counter_card", amount_cents=700, agent=agent)
    login_staff(client, supervisor)
    page = client.get(reverse("payments_admin:report"))
    assert page.status_code == 200 and "14,00" in page.content.decode()
    assert client.get(reverse("payments_admin:report"), {"day": "not-a-date"}).status_code == 200
    response = client.get(reverse("payments_admin:report_csv"))
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["day", "procedure", "procedure_name"]
    assert rows[1][1:6] == ["household-composition", procedure.name, "counter", "counter_card",
                            "2"]
    assert rows[-1][1] == "TOTAL" and rows[-1][-1] == "14.00"
    client.force_login(make_citizen())
    assert client.get(reverse("payments_admin:report_csv")).status_code in (302, 403)


def test_card_attempts_are_rate_limited_per_account(client, case, settings):
    from django.core.cache import cache

    cache.clear()
    settings.PAYMENTS_CONFIRM_RATE = "3/h"
    client.force_login(case.requester)
    client.get(reverse("payments:pay", args=[case.reference]))
    url = reverse("payments:confirm", args=[case.reference])
    statuses = [client.post(url, {"token": "bad"}).status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]
    assert "Trop" in client.post(url, {"token": "bad"}).json()["message"]
    cache.clear()


def test_back_office_bad_input_is_never_a_500(client, procedure, supervisor):
    admin_staff(supervisor)
    agent = admin_staff(staff("desk4", "Counter agent"))
    login_staff(client, supervisor)
    # (Django's LocaleMiddleware first redirects an unknown admin path to /fr/..., a 404.)
    for path in ("/admin/payments/999999/refund/", "/admin/payments/999999/receipt/",
                 "/admin/payments/cases/NOPE/"):
        assert client.get(path, follow=True).status_code == 404
    login_staff(client, agent)
    case = make_case(procedure, make_citizen())
    url = reverse("payments_admin:counter", args=[case.reference])
    for data in ({"provider": "bitcoin", "amount": "7,00"}, {"provider": "counter_cash"},
                 {"provider": "counter_cash", "amount": "sept"}):
        assert client.post(url, data).status_code == 400
    assert not Payment.objects.filter(case=case).exists()


def test_csv_cells_cannot_start_a_spreadsheet_formula(client, procedure, supervisor):
    admin_staff(supervisor)
    procedure.name_fr = "=HYPERLINK(\"http://evil\")"
    procedure.save()
    services.payment_record_counter(case=make_case(procedure, make_citizen()),
                                    provider="counter_cash", amount_cents=700,
                                    agent=staff("desk5", "Counter agent"))
    login_staff(client, supervisor)
    response = client.get(reverse("payments_admin:report_csv"))
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[1][2].startswith("'=")
