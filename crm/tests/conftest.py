"""Fixtures of the CIRM tests (shared with the back-office and portal tests of crm)."""

from __future__ import annotations

import io

import pytest

from catalogue.constants import Department
from crm.tests import factories as f
from identity.constants import AssuranceLevel

# Smallest real files of each type: the intake sniffs types from content, not names.
PDF_BYTES = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages"
             b"/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
PNG_BYTES = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


class Upload(io.BytesIO):
    """The part of Django's UploadedFile the intake uses (name, size, read, seek)."""

    def __init__(self, content: bytes, name: str = "file.pdf",
                 content_type: str = "application/pdf") -> None:
        super().__init__(content)
        self.name = name
        self.size = len(content)
        self.content_type = content_type


@pytest.fixture
def upload():
    return Upload


@pytest.fixture
def pdf():
    return Upload(PDF_BYTES, "proof.pdf")


@pytest.fixture
def queue(db):
    return f.QueueFactory(department=Department.CIVIL_STATUS)


@pytest.fixture
def agent(queue):
    return f.agent_of(queue)


@pytest.fixture
def other_agent(queue):
    return f.agent_of(queue)


@pytest.fixture
def supervisor(queue):
    return f.supervisor_of(queue)


@pytest.fixture
def citizen(db):
    return f.CitizenFactory()


@pytest.fixture
def procedure(db):
    return f.ProcedureFactory()


@pytest.fixture
def submit(citizen, procedure):
    """case_submit on the web with a substantial login, overridable per call."""
    from crm.services import case_submit

    def _submit(**kwargs):
        kwargs.setdefault("procedure", procedure)
        kwargs.setdefault("requester", citizen)
        kwargs.setdefault("channel", "web")
        kwargs.setdefault("data", {"purpose": "administration"})
        kwargs.setdefault("assurance_level", AssuranceLevel.SUBSTANTIAL)
        return case_submit(**kwargs)

    return _submit
