"""Reads of the signing app, used by the portal (my documents), the case page and the back
office."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from core.errors import NotFound
from signing.constants import CitizenSignatureState
from signing.models import CitizenSignature, IssuedDocument

if TYPE_CHECKING:
    from crm.models import Case
    from identity.models import User


def documents_of_case(case: Case) -> QuerySet[IssuedDocument]:
    return IssuedDocument.objects.filter(case=case).order_by("-issued_at", "-id")


def documents_of_citizen(user: User) -> QuerySet[IssuedDocument]:
    """The documents issued on the citizen's own requests (newest first)."""
    if user is None or not user.is_authenticated:
        return IssuedDocument.objects.none()
    return (IssuedDocument.objects.filter(case__requester=user)
            .select_related("case", "case__procedure").order_by("-issued_at", "-id"))


def document_by_code(code: str) -> IssuedDocument:
    from signing.services import normalize_code

    normalized = normalize_code(code)
    document = (IssuedDocument.objects.select_related("case", "case__procedure")
                .filter(verification_code=normalized).first() if normalized else None)
    if document is None:
        raise NotFound()
    return document


def can_download(user: User, document: IssuedDocument) -> bool:
    """The requester of the case, or staff who may see the case in the back office."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if document.case.requester_id == user.pk:
        return True
    if user.is_superuser:
        return True
    if not user.is_staff:
        return False
    from crm.selectors import cases_visible_to

    return cases_visible_to(user).filter(pk=document.case_id).exists()


def document_for_download(*, user: User, code: str) -> IssuedDocument:
    """The document behind `code` if `user` may download it; NotFound otherwise (no hint
    to others that the code exists)."""
    document = document_by_code(code)
    if not can_download(user, document):
        raise NotFound()
    return document


def citizen_signatures_of_case(case: Case) -> QuerySet[CitizenSignature]:
    return CitizenSignature.objects.filter(case=case, state=CitizenSignatureState.SIGNED)
