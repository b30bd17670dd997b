"""Template helpers for other apps' pages: the visitor's level of assurance and the
explanation shown where a procedure needs a stronger login.

    {% load identity_tags %}
    {% assurance_gate procedure.required_assurance_level %}
"""

from django import template

from identity.constants import AssuranceLevel
from identity.selectors import assurance_level_of

register = template.Library()


@register.simple_tag(takes_context=True)
def assurance_level(context) -> AssuranceLevel:
    request = context.get("request")
    return assurance_level_of(request) if request is not None else AssuranceLevel.NONE


@register.inclusion_tag("identity/includes/assurance_gate.html", takes_context=True)
def assurance_gate(context, required) -> dict:
    request = context.get("request")
    current = assurance_level_of(request) if request is not None else AssuranceLevel.NONE
    required = AssuranceLevel(int(required or 0))
    return {"required": required, "current": current, "allowed": current >= required,
            "authenticated": bool(request and request.user.is_authenticated),
            "next": request.get_full_path() if request is not None else ""}
