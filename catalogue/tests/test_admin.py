"""The catalogue in the Wagtail admin, driven through the real edit views."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice
from wagtail.models import Revision

from catalogue.models import Procedure

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("admin", "admin@example.org",
                                                      "correct horse battery")


def _login(client, user) -> None:
    """Log in as staff past the second factor the back office demands (identity's OTP)."""
    device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    client.force_login(user)
    session = client.session
    session["otp_device_id"] = device.persistent_id
    session.save()


def _edit_url(procedure: Procedure) -> str:
    return reverse("wagtailsnippets_catalogue_procedure:edit", args=[procedure.pk])


def _form_data(client, url: str) -> dict:
    """The edit form's current values, as the browser would post them back."""
    response = client.get(url)
    assert response.status_code == 200
    form = response.context["form"]
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if field.widget.__class__.__name__ == "CheckboxInput":
            if value:
                data[name] = "on"
            continue
        if name in ("form_schema", "attachments"):
            value = json.dumps(form.initial.get(name, getattr(form.instance, name)))
        data[name] = "" if value is None else value
    return data


def test_the_admin_lists_procedures_with_filters(client, superuser, loaded_catalogue):
    _login(client, superuser)
    url = reverse("wagtailsnippets_catalogue_procedure:list")
    response = client.get(url, {"category": "public_space"})
    assert response.status_code == 200
    content = response.content.decode()
    assert "bulky-items" in content or "Enlèvement d&#x27;encombrants" in content
    assert "household-composition" not in content


def test_an_invalid_form_definition_is_refused_and_not_saved(client, superuser,
                                                             loaded_catalogue):
    procedure = loaded_catalogue["deratting"]
    revisions = Revision.objects.for_instance(procedure).count()
    _login(client, superuser)
    url = _edit_url(procedure)
    data = _form_data(client, url)
    schema = json.loads(data["form_schema"])
    del schema["properties"]["street"]["x-labels"]["nl"]
    schema["required"].append("ghost")
    data["form_schema"] = json.dumps(schema)
    data["fee_counter"] = "999"

    response = client.post(url, data)

    assert response.status_code == 200  # the form again, with the problems
    errors = response.context["form"].errors["form_schema"]
    # the admin speaks the editor's language (French by default)
    assert "Le champ street n'a pas de libellé en : nl." in errors
    assert "Le champ obligatoire ghost n'est pas défini." in errors
    procedure.refresh_from_db()
    assert procedure.fee_counter == 0
    assert "nl" in procedure.form_schema["properties"]["street"]["x-labels"]
    assert Revision.objects.for_instance(procedure).count() == revisions


def test_malformed_json_is_refused_with_a_message(client, superuser, loaded_catalogue):
    procedure = loaded_catalogue["deratting"]
    _login(client, superuser)
    url = _edit_url(procedure)
    data = _form_data(client, url)
    data["form_schema"] = '{"type": "object", '
    response = client.post(url, data)
    assert response.status_code == 200
    assert response.context["form"].errors["form_schema"]


def test_a_valid_edit_is_saved_with_a_revision_by_the_editor(client, superuser,
                                                             loaded_catalogue):
    procedure = loaded_catalogue["deratting"]
    _login(client, superuser)
    url = _edit_url(procedure)
    data = _form_data(client, url)
    data["sla_days"] = "7"
    response = client.post(url, data)
    assert response.status_code == 302, response.context["form"].errors
    procedure.refresh_from_db()
    assert procedure.sla_days == 7
    assert procedure.latest_revision.user == superuser


def test_a_content_editor_may_edit_but_a_plain_staff_member_may_not(
        client, django_user_model, loaded_catalogue):
    procedure = loaded_catalogue["deratting"]
    editor = django_user_model.objects.create_user("editor", "editor@example.org", "x" * 16,
                                                   is_staff=True)
    editor.groups.add(Group.objects.get(name="Content editor"))
    _login(client, editor)
    assert client.get(_edit_url(procedure)).status_code == 200

    staff = django_user_model.objects.create_user("agent", "agent@example.org", "x" * 16,
                                                  is_staff=True)
    staff.groups.add(Group.objects.get_or_create(name="Case agent")[0])
    _login(client, staff)
    response = client.get(_edit_url(procedure))
    assert response.status_code in (302, 403)
    assert Procedure.objects.get(pk=procedure.pk).sla_days == procedure.sla_days


def test_the_edit_form_is_grouped_in_tabs(client, superuser, loaded_catalogue):
    _login(client, superuser)
    content = client.get(_edit_url(loaded_catalogue["bulky-items"])).content.decode()
    for heading in ("Noms et résumés", "Canaux et redevances", "Traitement",
                    "Définition du formulaire"):
        assert heading in content


def test_the_admin_searches_procedures_by_keyword(client, superuser, loaded_catalogue):
    _login(client, superuser)
    url = reverse("wagtailsnippets_catalogue_procedure:list_results")
    response = client.get(url, {"q": "Sperrmüll"})
    assert response.status_code == 200
    content = response.content.decode()
    assert "Enlèvement d&#x27;encombrants à domicile" in content
    assert "Certificat de vie" not in content


def test_a_new_procedure_with_an_invalid_form_is_not_created(client, superuser,
                                                            loaded_catalogue):
    _login(client, superuser)
    url = reverse("wagtailsnippets_catalogue_procedure:add")
    data = _form_data(client, _edit_url(loaded_catalogue["deratting"]))
    data["code"] = "new-procedure"
    data["form_schema"] = json.dumps({"type": "object", "properties": {
        "a": {"type": "string", "x-labels": {"fr": "A"}}}})
    response = client.post(url, data)
    assert response.status_code == 200
    assert response.context["form"].errors["form_schema"]
    assert not Procedure.objects.filter(code="new-procedure").exists()


def test_inspect_history_and_copy_views_render(client, superuser, loaded_catalogue):
    procedure = loaded_catalogue["resident-parking-card"]
    _login(client, superuser)
    for name in ("inspect", "history", "copy"):
        url = reverse(f"wagtailsnippets_catalogue_procedure:{name}", args=[procedure.pk])
        response = client.get(url)
        assert response.status_code == 200, name
    history = client.get(reverse("wagtailsnippets_catalogue_procedure:history",
                                 args=[procedure.pk])).content.decode()
    assert "Carte de riverain" in history
