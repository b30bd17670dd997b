"""Domain errors: a stable machine-readable code and a translatable message.

Services raise them; views map them to a form error or a page, API views to an HTTP 4xx with
the code (see core.api.exception_handler).
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code: str = "error"
    status: int = 400
    message: Any = "The request could not be completed."

    def __init__(self, message: Any = None, *, code: str | None = None,
                 details: dict[str, Any] | None = None) -> None:
        if message is not None:
            self.message = message
        if code is not None:
            self.code = code
        self.details = details or {}
        super().__init__(str(self.message))


class NotAllowed(DomainError):
    code = "not_allowed"
    status = 403


class NotFound(DomainError):
    code = "not_found"
    status = 404


class Conflict(DomainError):
    code = "conflict"
    status = 409


class ValidationFailed(DomainError):
    """Bad input; `details` maps field names to lists of messages."""

    code = "invalid"
    status = 400
