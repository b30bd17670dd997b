"""factory_boy factories of the CIRM (shared with the back-office and portal tests)."""

from __future__ import annotations

import datetime as dt
import itertools

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

from catalogue.constants import Category, Delivery, Department, WorkflowKind
from catalogue.models import Procedure
from crm import sla
from crm.models import Case, CaseEvent, Queue
from crm.workflow import CaseState
from identity.constants import GROUP_CASE_AGENT, GROUP_CASE_SUPERVISOR, GROUP_COUNTER_AGENT
from identity.models import Person, User

LABELS = {"fr": "Motif", "nl": "Reden", "en": "Purpose", "de": "Zweck"}
SIMPLE_SCHEMA = {
    "type": "object",
    "properties": {
        "purpose": {"type": "string", "minLength": 1, "maxLength": 200, "x-labels": LABELS},
        "copies": {"type": "integer", "minimum": 1, "maximum": 5,
                   "x-labels": {"fr": "Copies", "nl": "Kopieën", "en": "Copies",
                                "de": "Kopien"}},
    },
    "required": ["purpose"],
    "additionalProperties": False,
}
PROOF = {"code": "proof", "required": True, "content_types": ["application/pdf", "image/png"],
         "max_bytes": 64 * 1024,
         "label": {"fr": "Preuve", "nl": "Bewijs", "en": "Proof", "de": "Nachweis"}}

_numbers = itertools.count(1)


def national_number() -> str:
    """A valid Belgian national register number (born 1985, check digits mod 97)."""
    n = next(_numbers) % 997 + 1
    base = f"850101{n:03d}"
    check = 97 - int(base) % 97
    return f"{base}{check:02d}"


class ProcedureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Procedure

    code = factory.Sequence(lambda n: f"test-procedure-{n}")
    name_fr = factory.Sequence(lambda n: f"Procédure {n}")
    name_nl = factory.Sequence(lambda n: f"Procedure {n}")
    name_en = factory.Sequence(lambda n: f"Procedure {n}")
    name_de = factory.Sequence(lambda n: f"Verfahren {n}")
    category = Category.CIVIL_STATUS
    department = Department.CIVIL_STATUS
    workflow_kind = WorkflowKind.AGENT_REVIEW
    delivery = Delivery.SIGNED_PDF
    offered_web = True
    offered_mobile = True
    offered_kiosk = True
    offered_counter = True
    required_assurance_level = 2
    sla_days = 5
    one_open_case_per_person = True
    form_schema = factory.LazyFunction(lambda: dict(SIMPLE_SCHEMA))
    attachments = factory.LazyFunction(list)

    class Params:
        instant = factory.Trait(workflow_kind=WorkflowKind.INSTANT,
                                department=Department.DEMOGRAPHY,
                                category=Category.POPULATION, sla_days=0)
        paid = factory.Trait(fee_web=500, fee_mobile=500, fee_kiosk=500, fee_counter=700)
        with_proof = factory.Trait(attachments=factory.LazyFunction(lambda: [dict(PROOF)]))


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    number = factory.LazyFunction(national_number)
    number_kind = "national"
    first_names = factory.Sequence(lambda n: f"Alice{n}")
    last_name = factory.Sequence(lambda n: f"Dupont{n}")
    birth_date = dt.date(1985, 1, 1)
    gender = "F"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")
    preferred_language = "fr"
    password = factory.PostGenerationMethodCall("set_unusable_password")


class CitizenFactory(UserFactory):
    person = factory.SubFactory(PersonFactory)


def _add_group(user: User, name: str) -> None:
    group, _created = Group.objects.get_or_create(name=name)
    user.groups.add(group)


class StaffFactory(UserFactory):
    is_staff = True

    @factory.post_generation
    def group(self, create: bool, extracted: str | None, **kwargs) -> None:
        if create:
            _add_group(self, extracted or GROUP_CASE_AGENT)


class QueueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Queue
        django_get_or_create = ("code",)
        skip_postgeneration_save = True

    code = factory.LazyAttribute(lambda o: o.department)
    name = factory.LazyAttribute(lambda o: f"Queue {o.department}")
    department = Department.CIVIL_STATUS
    is_default = True

    @factory.post_generation
    def members(self, create: bool, extracted, **kwargs) -> None:
        if create and extracted:
            self.members.add(*extracted)

    @factory.post_generation
    def supervisors(self, create: bool, extracted, **kwargs) -> None:
        if create and extracted:
            self.supervisors.add(*extracted)


def agent_of(queue: Queue, **kwargs) -> User:
    user = StaffFactory(**kwargs)
    queue.members.add(user)
    return user


def supervisor_of(queue: Queue, **kwargs) -> User:
    user = StaffFactory(group=GROUP_CASE_SUPERVISOR, **kwargs)
    queue.supervisors.add(user)
    return user


def counter_agent(**kwargs) -> User:
    return StaffFactory(group=GROUP_COUNTER_AGENT, **kwargs)


class CaseFactory(factory.django.DjangoModelFactory):
    """A case written directly in a given state (bypassing intake), for selectors and
    workflow tests. Use crm.services.case_submit to test intake itself."""

    class Meta:
        model = Case
        skip_postgeneration_save = True

    reference = factory.Sequence(lambda n: f"BXL-2026-{n + 900000:06d}")
    procedure = factory.SubFactory(ProcedureFactory)
    requester = factory.SubFactory(CitizenFactory)
    person = factory.LazyAttribute(lambda o: o.requester.person if o.requester else
                                   PersonFactory())
    channel = "web"
    language = "fr"
    data = factory.LazyFunction(lambda: {"purpose": "test"})
    state = CaseState.IN_PROGRESS
    queue = factory.LazyAttribute(lambda o: QueueFactory(department=o.procedure.department))
    created_at = factory.LazyFunction(timezone.now)
    sla_due_at = factory.LazyAttribute(lambda o: sla.due_at(o.created_at, o.procedure.sla_days))

    @factory.post_generation
    def created_event(self, create: bool, extracted, **kwargs) -> None:
        if create:
            CaseEvent.objects.create(case=self, kind="created", at=self.created_at,
                                     to_state=CaseState.SUBMITTED, channel=self.channel)
