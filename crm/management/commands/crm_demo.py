"""`manage.py crm_demo`: demo queues staffed by identity_demo's agents, and demo requests.

Idempotent: queues are updated in place; the requests are created once (when the first demo
citizen has none yet).
"""

from __future__ import annotations

import datetime as dt
import random
import re
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone, translation

from catalogue.constants import Channel, Department
from catalogue.forms_schema import validate_form_data
from catalogue.models import Procedure
from core.errors import DomainError
from crm import services
from crm.models import Case, Queue
from crm.workflow import CaseState
from identity.constants import (
    GROUP_CASE_AGENT,
    GROUP_CASE_SUPERVISOR,
    GROUP_COUNTER_AGENT,
    AssuranceLevel,
)
from identity.models import Person, User

# Valid sample values for the catalogue's patterned fields.
SAMPLES = {
    "number": "12", "event_number": "4", "phone": "+32 2 279 22 11", "plate": "1-ABC-123",
    "card_number": "591-1234567-89", "vat_number": "BE0207373429",
    "website": "https://example.org", "document_number": "AB123456", "postal_code": "1000",
    "email": "citizen@example.org",
}


def sample_value(name: str, prop: dict, rng: random.Random) -> Any:
    if "const" in prop:
        return prop["const"]
    if "enum" in prop:
        return rng.choice(prop["enum"])
    kind = prop.get("type")
    if kind == "boolean":
        return True
    if kind == "integer":
        return int(prop.get("minimum", 1))
    if kind == "number":
        return float(prop.get("maximum", prop.get("minimum", 1)))
    if prop.get("format") == "date":
        return (timezone.localdate() + dt.timedelta(days=rng.randint(10, 40))).isoformat()
    if prop.get("format") == "email":
        return SAMPLES["email"]
    if name in SAMPLES and "pattern" in prop and re.search(prop["pattern"], SAMPLES[name]):
        return SAMPLES[name]
    text = "Rue de la Loi" if "street" in name else "Demo request of the Guichet platform"
    return text[: int(prop.get("maxLength", 200))]


def sample_data(procedure: Procedure, rng: random.Random | None = None) -> dict | None:
    """Form data valid for `procedure`: the required fields, then any field the schema's
    conditions ask for. None when no valid sample could be made."""
    rng = rng or random.Random(procedure.pk)  # noqa: S311 - demo data
    schema = procedure.form_schema or {}
    props = schema.get("properties", {})
    data = {n: sample_value(n, props[n], rng) for n in schema.get("required", []) if n in props}
    for _ in range(4):
        errors = validate_form_data(schema, data)
        if not errors:
            return data
        for name in errors:
            if name in props:
                data[name] = sample_value(name, props[name], rng)
    return None


# A one-pixel PNG and a minimal PDF: real files, since the intake sniffs the content.
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def demo_file(spec: dict) -> SimpleUploadedFile:
    types = spec.get("content_types") or ["application/pdf"]
    if "application/pdf" in types:
        return SimpleUploadedFile(f"{spec['code']}.pdf", PDF, "application/pdf")
    return SimpleUploadedFile(f"{spec['code']}.png", PNG, "image/png")


class Command(BaseCommand):
    help = "Create the demo queues (with identity_demo's agents) and some demo requests."

    def handle(self, *args: Any, **options: Any) -> None:
        self.seed_queues()
        self.seed_cases()

    @transaction.atomic
    def seed_queues(self) -> None:
        agents = list(User.objects.filter(groups__name=GROUP_CASE_AGENT, is_active=True))
        supervisors = list(User.objects.filter(groups__name=GROUP_CASE_SUPERVISOR,
                                               is_active=True))
        for department in Department:
            with translation.override("fr"):
                fr = str(department.label)
            with translation.override("nl"):
                nl = str(department.label)
            queue, _created = Queue.objects.update_or_create(
                code=department.value,
                defaults={"name": f"{fr} / {nl}", "department": department.value,
                          "is_default": True})
            key = department.value.replace("_", "")
            own = [u for u in agents if u.username.split(".")[-1] == key]
            # agents without a department of their own help everywhere
            spare = [u for u in agents
                     if u.username.split(".")[-1] not in {d.replace("_", "") for d in
                                                          Department.values}]
            queue.members.set(own + spare)
            queue.supervisors.set([u for u in supervisors
                                   if u.username.split(".")[-1] == key])
            self.stdout.write(f"queue {queue.code}: {queue.members.count()} agents, "
                              f"{queue.supervisors.count()} supervisors")

    def seed_cases(self) -> None:
        citizens = list(User.objects.filter(person__isnull=False, is_staff=False)
                        .select_related("person").order_by("id")[:2])
        if not citizens:
            self.stdout.write("no demo citizens (run identity_demo first): no demo requests")
            return
        if Case.objects.filter(requester=citizens[0]).exists():
            self.stdout.write("demo requests already there")
            return
        procedures = {p.code: p for p in Procedure.objects.active()}
        rng = random.Random(2026)  # noqa: S311 - demo data
        made = 0
        plan = [
            (0, "birth-certificate", Channel.WEB, None),
            (0, "household-composition", Channel.WEB, None),
            (0, "bulky-items", Channel.MOBILE, None),
            (1, "marriage-certificate", Channel.WEB, "ask"),
            (1, "main-residence", Channel.KIOSK, None),
            (1, "street-artist-permit", Channel.WEB, None),
        ]
        for index, code, channel, action in plan:
            case = self.submit(procedures.get(code), citizens[index % len(citizens)], channel,
                               rng)
            if case is None:
                continue
            made += 1
            if action == "ask" and case.state == CaseState.IN_PROGRESS:
                agent = case.queue.members.first()
                if agent:
                    services.case_claim(case=case, agent=agent)
                    services.case_request_information(
                        case=case, agent=agent,
                        message="Pourriez-vous préciser la commune du mariage ?")
        made += self.seed_history(procedures, rng)
        self.stdout.write(self.style.SUCCESS(f"{made} demo requests created"))

    def submit(self, procedure: Procedure | None, citizen: User, channel: str,
               rng: random.Random, *, person: Person | None = None,
               agent: User | None = None) -> Case | None:
        if procedure is None or not procedure.offers(channel):
            return None
        data = sample_data(procedure, rng)
        if data is None:
            return None
        files = [(item["code"], demo_file(item)) for item in procedure.attachments or []
                 if item.get("required")]
        try:
            return services.case_submit(
                procedure=procedure, requester=None if agent else citizen, channel=channel,
                data=data, assurance_level=AssuranceLevel.HIGH, acting_agent=agent,
                attachments=files,
                person=person, language=citizen.preferred_language if citizen else "fr")
        except DomainError as exc:
            self.stdout.write(f"  {procedure.code} on {channel}: {exc.message}")
            return None

    def seed_history(self, procedures: dict[str, Procedure], rng: random.Random) -> int:
        """Past requests of other people over six months, closed, for the statistics."""
        counter = User.objects.filter(groups__name=GROUP_COUNTER_AGENT).first()
        people = list(Person.objects.filter(account__isnull=True, deceased=False)[:40])
        codes = ["household-composition", "main-residence", "birth-certificate",
                 "criminal-record", "life", "marriage-certificate"]
        channels = [Channel.WEB] * 6 + [Channel.MOBILE] * 2 + [Channel.KIOSK, Channel.COUNTER]
        made = 0
        now = timezone.now()
        for person in people:
            procedure = procedures.get(rng.choice(codes))
            if procedure is None or counter is None:
                continue
            # made at the counter, then dated and spread over the channels as history
            case = self.submit(procedure, None, Channel.COUNTER, rng, person=person,
                               agent=counter)
            if case is None:
                continue
            created = now - dt.timedelta(days=rng.randint(7, 180), hours=rng.randint(0, 8))
            closed = created + dt.timedelta(hours=rng.randint(1, 24 * 6))
            Case.objects.filter(pk=case.pk).update(created_at=created, closed_at=closed,
                                                   state=CaseState.CLOSED,
                                                   channel=rng.choice(channels))
            case.events.update(at=created)
            made += 1
        return made
