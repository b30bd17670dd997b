"""The catalogue in the Wagtail admin: content editors maintain procedures in four languages.

Every save goes through the model's validation (form definition, attachments), so an
invalid form definition is refused with its problems listed and nothing is saved. Each save
creates a revision (Procedure has RevisionMixin), so the history shows who changed a fee or
a form, and when. Editing needs the catalogue permissions (the "Content editor" group has
them, see migration 0002) or a superuser.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import (
    FieldPanel,
    FieldRowPanel,
    MultiFieldPanel,
    ObjectList,
    TabbedInterface,
)
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet

from catalogue.models import Procedure

LANGUAGE_NAMES = dict(settings.LANGUAGES)


def _language_panel(lang: str) -> MultiFieldPanel:
    return MultiFieldPanel(
        [FieldPanel(f"name_{lang}"), FieldPanel(f"summary_{lang}")],
        heading=LANGUAGE_NAMES.get(lang, lang),
    )


JSON_WIDGET_ATTRS = {"rows": 24, "spellcheck": "false", "style": "font-family: monospace"}


class ProcedureViewSet(SnippetViewSet):
    model = Procedure
    icon = "clipboard-list"
    menu_label = _("Procedures")
    menu_name = "procedures"
    menu_order = 210
    add_to_admin_menu = True
    copy_view_enabled = True
    inspect_view_enabled = True
    list_display = ["name", "code", "category", "workflow_kind", "active", "updated_at"]
    list_filter = ["category", "department", "workflow_kind", "delivery", "active"]
    list_per_page = 50
    ordering = ["category", "sort_order", "code"]

    edit_handler = TabbedInterface([
        ObjectList(
            [FieldPanel("code"), *(_language_panel(lang) for lang in settings.LANGUAGE_CODES),
             FieldPanel("keywords")],
            heading=_("Names and summaries"),
        ),
        ObjectList(
            [
                FieldRowPanel([FieldPanel("offered_web"), FieldPanel("fee_web")],
                              heading=_("Web portal")),
                FieldRowPanel([FieldPanel("offered_mobile"), FieldPanel("fee_mobile")],
                              heading=_("Mobile app")),
                FieldRowPanel([FieldPanel("offered_kiosk"), FieldPanel("fee_kiosk")],
                              heading=_("Self-service terminals")),
                FieldRowPanel([FieldPanel("offered_counter"), FieldPanel("fee_counter")],
                              heading=_("Counter")),
            ],
            heading=_("Channels and fees"),
        ),
        ObjectList(
            [
                FieldRowPanel([FieldPanel("category"), FieldPanel("department")]),
                FieldRowPanel([FieldPanel("workflow_kind"), FieldPanel("delivery")]),
                FieldRowPanel([FieldPanel("required_assurance_level"), FieldPanel("sla_days")]),
                FieldPanel("one_open_case_per_person"),
                FieldRowPanel([FieldPanel("active"), FieldPanel("sort_order")]),
            ],
            heading=_("Workflow"),
        ),
        ObjectList(
            [
                FieldPanel("form_schema", widget=forms.Textarea(attrs=JSON_WIDGET_ATTRS),
                           help_text=_("JSON Schema with x-labels in fr, nl, en and de on "
                                       "every field, x-enum-labels for choices and optional "
                                       "x-steps. Refused, with the problems listed, when "
                                       "invalid.")),
                FieldPanel("attachments", widget=forms.Textarea(attrs={**JSON_WIDGET_ATTRS,
                                                                       "rows": 10})),
            ],
            heading=_("Form definition"),
        ),
    ])


register_snippet(ProcedureViewSet)
