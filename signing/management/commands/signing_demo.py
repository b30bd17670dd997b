"""Demo for `make run`: the development seal key, and a sealed document to try on the
verification page."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.urls import reverse
from django.utils import translation


class Command(BaseCommand):
    help = ("Create the development seal key (SoftHSM token or PKCS#12) if needed, issue the "
            "documents of approved demo requests, and print a verification code to try.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--new-key", action="store_true",
                            help="Throw away the development key and make a new one.")

    def handle(self, *args, new_key: bool = False, **options) -> None:
        from catalogue.constants import Delivery
        from crm.models import Case
        from crm.workflow import CaseState
        from signing import devkeys, services
        from signing.models import IssuedDocument

        config = devkeys.ensure_dev_key(force=new_key)
        if config:
            self.stdout.write(f"signing: development seal key ready ({config['backend']}, "
                              f"trust root {config['trust_roots'][0]})")
        pending = Case.objects.filter(state=CaseState.APPROVED,
                                      procedure__delivery=Delivery.SIGNED_PDF,
                                      documents__isnull=True)
        issued = 0
        for case in pending.select_related("procedure")[:200]:
            try:
                services.document_issue(case=case)
                issued += 1
            except Exception as exc:  # one bad demo case must not stop `make run`
                self.stderr.write(f"signing: case {case.reference} not issued: {exc}")
        if not IssuedDocument.objects.exists():
            self._demo_request()
        document = IssuedDocument.objects.filter(revoked=False).order_by("-issued_at").first()
        self.stdout.write(f"signing: {issued} document(s) issued for approved requests")
        if document is not None:
            with translation.override("fr"):
                url = reverse("signing:verify")
            self.stdout.write(f"signing: try the verification page {url} with the code "
                              f"{services.format_code(document.verification_code)}")

    def _demo_request(self) -> None:
        """One household-composition certificate for the first demo citizen, so the
        verification page has something to find even before crm's demo ran."""
        from catalogue.models import Procedure
        from crm.services import case_submit
        from identity.constants import AssuranceLevel
        from identity.models import User
        from signing import services

        procedure = Procedure.objects.filter(code="household-composition").first()
        user = User.objects.filter(person__isnull=False, is_staff=False).order_by("pk").first()
        if procedure is None or user is None:
            self.stdout.write("signing: no catalogue or demo citizen yet; no demo document")
            return
        try:
            case = case_submit(procedure=procedure, requester=user, channel="web",
                               data={"purpose": "administration", "document_language": "fr",
                                     "copies": 1},
                               assurance_level=AssuranceLevel.HIGH, language="fr")
            if case.state == "approved":
                services.document_issue(case=case)
        except Exception as exc:
            self.stderr.write(f"signing: demo document not issued: {exc}")
