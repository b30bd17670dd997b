from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from wagtail.models import RevisionMixin
from wagtail.search import index

from catalogue.constants import Category, Channel, Delivery, Department, WorkflowKind
from core.i18n import localized_attr
from identity.constants import AssuranceLevel


class ProcedureQuerySet(models.QuerySet):
    def active(self) -> ProcedureQuerySet:
        return self.filter(active=True)

    def offered_on(self, channel: str) -> ProcedureQuerySet:
        return self.active().filter(**{f"offered_{Channel(channel).value}": True})


class Procedure(RevisionMixin, index.Indexed, models.Model):
    """One municipal procedure a citizen can request: the single source every channel,
    the intake service, the back office routing, payments and document issuing read.

    Fees are in euro cents and may differ per channel (the city charges less online than at
    the counter). The form definition is a JSON Schema with translated labels
    (see catalogue.forms_schema for the extensions we use).
    """

    code = models.SlugField(_("code"), max_length=64, unique=True,
                            validators=[RegexValidator(r"^[a-z0-9][a-z0-9-]*$")])
    name_fr = models.CharField(_("name (French)"), max_length=200)
    name_nl = models.CharField(_("name (Dutch)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200)
    name_de = models.CharField(_("name (German)"), max_length=200)
    summary_fr = models.TextField(_("summary (French)"), blank=True)
    summary_nl = models.TextField(_("summary (Dutch)"), blank=True)
    summary_en = models.TextField(_("summary (English)"), blank=True)
    summary_de = models.TextField(_("summary (German)"), blank=True)
    keywords = models.TextField(
        _("search keywords"), blank=True,
        help_text=_("Extra words citizens use for this procedure, in every language."))
    category = models.CharField(_("category"), max_length=32, choices=Category.choices)
    department = models.CharField(_("department"), max_length=32, choices=Department.choices)
    workflow_kind = models.CharField(_("workflow"), max_length=32, choices=WorkflowKind.choices)
    delivery = models.CharField(_("delivery"), max_length=32, choices=Delivery.choices)

    offered_web = models.BooleanField(_("offered on the web portal"), default=True)
    offered_mobile = models.BooleanField(_("offered in the mobile app"), default=True)
    offered_kiosk = models.BooleanField(_("offered on terminals"), default=False)
    offered_counter = models.BooleanField(_("offered at the counter"), default=True)
    fee_web = models.PositiveIntegerField(_("fee on the web (cents)"), default=0)
    fee_mobile = models.PositiveIntegerField(_("fee in the app (cents)"), default=0)
    fee_kiosk = models.PositiveIntegerField(_("fee on a terminal (cents)"), default=0)
    fee_counter = models.PositiveIntegerField(_("fee at the counter (cents)"), default=0)

    required_assurance_level = models.PositiveSmallIntegerField(
        _("required assurance level"), choices=AssuranceLevel.choices,
        default=AssuranceLevel.SUBSTANTIAL)
    sla_days = models.PositiveSmallIntegerField(
        _("service level (working days)"), default=5, validators=[MinValueValidator(0)])
    one_open_case_per_person = models.BooleanField(
        _("one open request per person"), default=True,
        help_text=_("Refuse a new request while the same person has one open for this procedure."))
    attachments = models.JSONField(
        _("required attachments"), default=list, blank=True,
        help_text=_("List of {code, required, content_types, max_bytes, label: {fr, nl, en, de}}."))
    form_schema = models.JSONField(_("form definition (JSON Schema)"), default=dict, blank=True)
    active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveIntegerField(_("order"), default=100)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProcedureQuerySet.as_manager()

    search_fields = [
        index.SearchField("name_fr", boost=3),
        index.SearchField("name_nl", boost=3),
        index.SearchField("name_en", boost=3),
        index.SearchField("name_de", boost=3),
        index.SearchField("summary_fr"),
        index.SearchField("summary_nl"),
        index.SearchField("summary_en"),
        index.SearchField("summary_de"),
        index.SearchField("keywords", boost=2),
        index.AutocompleteField("name_fr"),
        index.AutocompleteField("name_nl"),
        index.AutocompleteField("name_en"),
        index.AutocompleteField("name_de"),
        index.FilterField("active"),
        index.FilterField("category"),
        index.FilterField("code"),
    ]

    class Meta:
        verbose_name = _("procedure")
        verbose_name_plural = _("procedures")
        ordering = ["category", "sort_order", "code"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return localized_attr(self, "name")

    @property
    def summary(self) -> str:
        return localized_attr(self, "summary")

    def offers(self, channel: str) -> bool:
        return bool(getattr(self, f"offered_{Channel(channel).value}"))

    def fee_for(self, channel: str) -> int:
        """The fee in cents on this channel."""
        return int(getattr(self, f"fee_{Channel(channel).value}"))

    @property
    def channels(self) -> list[str]:
        return [c.value for c in Channel if self.offers(c)]

    def clean(self) -> None:
        from catalogue.forms_schema import validate_attachments, validate_form_schema

        errors: dict[str, list] = {}
        for name, validate in (("form_schema", validate_form_schema),
                               ("attachments", validate_attachments)):
            try:
                validate(getattr(self, name))
            except ValidationError as exc:
                errors[name] = exc.error_list
        if self.active and not any(self.offers(channel) for channel in Channel):
            errors["active"] = [ValidationError(
                _("An active procedure must be offered on at least one channel."))]
        if errors:
            raise ValidationError(errors)
