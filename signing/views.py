"""Public verification page, the owner's download, and the citizen's signature. Thin: parse,
call one service or selector, render."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django_ratelimit.core import is_ratelimited

from core.errors import DomainError, NotFound
from signing import messages as texts
from signing import selectors, services
from signing.constants import VerificationChannel, VerificationResult
from signing.forms import CitizenSignForm, CodeForm, UploadForm

RATE_GROUP = "signing.verify"


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def verification_limited(request: HttpRequest) -> bool:
    """Counts one check against the visitor's budget (per IP address)."""
    return is_ratelimited(request, group=RATE_GROUP, key="ip", rate=settings.SIGNING_VERIFY_RATE,
                          method=is_ratelimited.ALL, increment=True)


@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """Anyone checks a document: by code (typed, or from the QR code's link) or by PDF."""
    code_form = CodeForm(prefix="c")
    upload_form = UploadForm(prefix="u")
    report = None
    status = 200
    wants_check = False
    if request.method == "POST" and request.POST.get("action") == "upload":
        upload_form = UploadForm(request.POST, request.FILES, prefix="u")
        wants_check = True
    elif request.method == "POST":
        code_form = CodeForm(request.POST, prefix="c")
        wants_check = True
    elif request.GET.get("code"):
        code_form = CodeForm({"c-code": request.GET["code"]}, prefix="c")
        wants_check = True
    if wants_check:
        if verification_limited(request):
            return render(request, "signing/verify.html", {
                "code_form": code_form, "upload_form": upload_form, "limited": True,
                "max_upload": settings.SIGNING_VERIFY_MAX_UPLOAD_BYTES}, status=429)
        common = {"channel": VerificationChannel.PAGE, "language": get_language() or "",
                  "client_ip": client_ip(request)}
        if upload_form.is_bound:
            if upload_form.is_valid():
                upload = upload_form.cleaned_data["file"]
                report = services.document_verify(pdf_bytes=upload.read(), **common)
            elif "file" in upload_form.errors and any(
                    e.code == "too_large" for e in upload_form.errors.as_data()["file"]):
                report = services.verification_too_large(
                    size=request.FILES["u-file"].size, **common)
                status = 413
        elif code_form.is_valid():
            report = services.document_verify(code=code_form.cleaned_data["code"], **common)
        if report is None and status == 200:
            status = 400
    context = {
        "code_form": code_form, "upload_form": upload_form, "report": report,
        "max_upload": settings.SIGNING_VERIFY_MAX_UPLOAD_BYTES,
    }
    if report is not None:
        context.update({
            "headline": texts.headline(report.result),
            "explanation": texts.explanation(report.result),
            "good": report.result in texts.GOOD_RESULTS,
            "revoked": report.result == VerificationResult.REVOKED,
        })
    response = render(request, "signing/verify.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response


@login_required
def download(request: HttpRequest, code: str) -> FileResponse:
    """The sealed PDF, for the citizen who requested it and for staff who see the case."""
    try:
        document = selectors.document_for_download(user=request.user, code=code)
    except NotFound:
        raise Http404 from None
    services.document_downloaded(document=document, user=request.user)
    response = FileResponse(document.file.open("rb"), content_type="application/pdf",
                            as_attachment=True,
                            filename=f"{document.case.reference}-{document.template}.pdf")
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def citizen_sign(request: HttpRequest, code: str) -> HttpResponse:
    """The parent signs the parental authorisation with their remote signing credential."""
    try:
        document = selectors.document_for_download(user=request.user, code=code)
    except NotFound:
        raise Http404 from None
    if document.case.requester_id != request.user.pk:
        raise PermissionDenied
    if not services.requires_citizen_signature(document.case.procedure):
        raise Http404
    signatures = selectors.citizen_signatures_of_case(document.case)
    form = CitizenSignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.citizen_sign(document=document, citizen=request.user, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(exc.details and next(iter(exc.details)) or None, str(exc.message))
        else:
            messages.success(request, _("You signed the document. The signed copy is kept "
                                        "with your request."))
            return redirect("signing:citizen_sign", code=code)
    return render(request, "signing/citizen_sign.html", {
        "document": document, "form": form, "signatures": signatures,
        "service_available": bool(settings.SIGNING_CSC_SERVICE_URL),
    }, status=400 if form.is_bound and form.errors else 200)
