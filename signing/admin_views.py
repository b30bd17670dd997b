"""Back office: issued documents (search by code or case reference) and their revocation."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from core.errors import DomainError
from signing import services
from signing.forms import RevokeForm
from signing.models import IssuedDocument


def may_view_documents(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_authenticated and user.is_active and user.is_staff and (
        user.is_superuser or user.has_perm("signing.view_issueddocument")
        or services.can_revoke(user)))


class DocumentListView(WagtailAdminTemplateMixin, TemplateView):
    template_name = "signing/admin/document_list.html"
    page_title = gettext_lazy("Issued documents")
    header_icon = "doc-full"
    _breadcrumbs = None

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not may_view_documents(request):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self) -> list:
        return [*self.breadcrumbs_items, {"url": "", "label": self.page_title}]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        query = (self.request.GET.get("q") or "").strip()[:64]
        documents = IssuedDocument.objects.select_related("case", "case__procedure",
                                                          "case__person")
        if query:
            code = services.normalize_code(query)
            documents = documents.filter(Q(case__reference__iexact=query) | Q(
                verification_code=code or "-"))
        if self.request.GET.get("revoked") == "1":
            documents = documents.filter(revoked=True)
        page = Paginator(documents.order_by("-issued_at", "-id"), 50).get_page(
            self.request.GET.get("page"))
        context.update({"page": page, "query": query, "revoke_form": RevokeForm(),
                        "can_revoke": services.can_revoke(self.request.user)})
        return context


@require_POST
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    if not may_view_documents(request):
        raise PermissionDenied
    document = get_object_or_404(IssuedDocument, pk=pk)
    form = RevokeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the reason for revoking the document."))
        return redirect("signing_admin:document_list")
    try:
        services.document_revoke(document=document, actor=request.user,
                                 reason=form.cleaned_data["reason"])
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Document %(code)s revoked.") % {
            "code": services.format_code(document.verification_code)})
    return redirect("signing_admin:document_list")


