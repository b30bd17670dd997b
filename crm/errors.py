"""Domain errors of the CIRM, with stable codes the views and the terminal API map to 4xx."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from core.errors import Conflict, NotAllowed, NotFound, ValidationFailed


class TransitionNotAllowed(NotAllowed):
    code = "transition_not_allowed"
    message = _("This action is not possible on this request in its current state.")


class ChannelNotOffered(NotAllowed):
    code = "channel_not_offered"
    message = _("This procedure cannot be requested on this channel.")


class AssuranceTooLow(NotAllowed):
    code = "assurance_too_low"
    message = _("This procedure requires a stronger login. Please log in with your eID, "
                "itsme or a digital key of a higher level.")


class DuplicateOpenCase(Conflict):
    code = "duplicate_open_case"
    message = _("You already have an open request for this procedure.")


class InvalidAttachment(ValidationFailed):
    code = "invalid_attachment"


class CaseNotFound(NotFound):
    code = "case_not_found"
    message = _("This request does not exist or you may not see it.")


class NotAQueueMember(NotAllowed):
    code = "not_a_queue_member"
    message = _("You are not a member of this queue.")


__all__ = ["AssuranceTooLow", "CaseNotFound", "ChannelNotOffered", "DuplicateOpenCase",
           "InvalidAttachment", "NotAQueueMember", "TransitionNotAllowed", "ValidationFailed"]
