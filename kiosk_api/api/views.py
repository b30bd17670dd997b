"""The terminal REST API. Thin: parse, call one service or selector, serialize."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import FileResponse, HttpResponse, JsonResponse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ValidationFailed
from kiosk_api import eid, selectors, services, shared_cache
from kiosk_api.api import serializers as s
from kiosk_api.authentication import (
    TerminalAuthentication,
    TerminalCredentialsInvalid,
    terminal_credentials,
)
from kiosk_api.errors import AttachmentUnreadable, ProcedureNotOffered
from kiosk_api.models import KioskSession, Terminal
from kiosk_api.throttling import SessionOpenRateThrottle, TerminalRateThrottle

SESSION_HEADER = "X-Kiosk-Session"
SESSION_PARAMETER = OpenApiParameter(
    SESSION_HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, required=True,
    description="The token of the citizen session opened on this terminal.")
LANG_PARAMETER = OpenApiParameter(
    "lang", OpenApiTypes.STR, OpenApiParameter.QUERY, required=False,
    enum=settings.LANGUAGE_CODES,
    description="Language of names and messages when no citizen session is open.")
ERRORS = dict.fromkeys((400, 401, 403, 404, 409, 429), s.ErrorOut)
EID_ERRORS = {**ERRORS, 503: s.ErrorOut}
HEARTBEAT_EVERY_SECONDS = 60
API_URLCONF = "kiosk_api.schema_urls"


def _flatten(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested serializer errors as {"attachments.0.code": [messages]}."""
    out: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            name = "__all__" if key == "non_field_errors" else str(key)
            out.update(_flatten(value, f"{prefix}.{name}" if prefix else name))
    elif isinstance(errors, list) and errors and all(isinstance(e, dict | list) for e in errors):
        for index, value in enumerate(errors):
            out.update(_flatten(value, f"{prefix}.{index}"))
    elif isinstance(errors, list):
        out[prefix or "__all__"] = [str(e) for e in errors]
    else:
        out[prefix or "__all__"] = [str(errors)]
    return out


def parse(serializer_class: type, data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        raise ValidationFailed(_("Some fields are missing or not valid."),
                               details=_flatten(serializer.errors))
    return serializer.validated_data


class TerminalAPIView(APIView):
    authentication_classes = [TerminalAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes = [TerminalRateThrottle]
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]
    session_required = False

    # Views that read the catalogue (its version key joins the prefetch).
    reads_catalogue = False

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        # Django's LocaleMiddleware turns a 404 into a redirect to /fr/<path> whenever that
        # path resolves, and the Wagtail catch-all under the language prefixes resolves every
        # path: an API "not found" would become a 302 to an HTML page. Marking the request
        # with the API's own URL map (no language prefixes) keeps our 404s as 404s.
        request.urlconf = API_URLCONF
        with shared_cache.prefetch(self.shared_cache_keys(request)):
            return super().dispatch(request, *args, **kwargs)

    def shared_cache_keys(self, request: Any) -> list[str]:
        """The cache entries this call will read (see kiosk_api.shared_cache)."""
        keys = []
        try:
            credentials = terminal_credentials(request)
        except TerminalCredentialsInvalid:
            credentials = None  # refused by the authentication, with its code
        if credentials:
            keys.append(services.credential_cache_key(credentials[0]))
        token = request.headers.get(SESSION_HEADER, "")
        if token:
            keys.append(services.session_cache_key(services.sha256_hex(token)))
        if self.reads_catalogue:
            keys.append(selectors.CATALOGUE_VERSION_KEY)
        return keys

    @property
    def terminal(self) -> Terminal:
        return self.request.auth

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        self.kiosk_session: KioskSession | None = None
        token = request.headers.get(SESSION_HEADER, "")
        if self.session_required or token:
            self.kiosk_session = services.session_resume(terminal=self.terminal, token=token)
            translation.activate(self.kiosk_session.language)
        elif request.query_params.get("lang") in settings.LANGUAGE_CODES:
            translation.activate(request.query_params["lang"])

    @property
    def citizen_session(self) -> KioskSession:
        assert self.kiosk_session is not None
        return self.kiosk_session


class SessionAPIView(TerminalAPIView):
    session_required = True


def not_found(request: Any, *args: Any, **kwargs: Any) -> JsonResponse:
    request.urlconf = API_URLCONF  # see TerminalAPIView.dispatch
    return JsonResponse({"code": "not_found", "detail": str(_("Not found."))}, status=404)


# --- terminal -----------------------------------------------------------------------------


class TerminalView(TerminalAPIView):
    @extend_schema(operation_id="terminal_get", tags=["terminal"],
                   responses={200: s.TerminalOut, **ERRORS})
    def get(self, request: Request) -> Response:
        t = self.terminal
        return Response(s.TerminalOut({
            "code": t.code, "branch": t.branch, "branch_label": t.get_branch_display(),
            "location": t.location, "languages": settings.LANGUAGE_CODES,
            "session_idle_seconds": settings.KIOSK_SESSION_IDLE_SECONDS,
            "nonce_seconds": settings.KIOSK_NONCE_SECONDS,
            "heartbeat_every_seconds": HEARTBEAT_EVERY_SECONDS}).data)


class HeartbeatView(TerminalAPIView):
    @extend_schema(operation_id="terminal_heartbeat", tags=["terminal"], request=s.HeartbeatIn,
                   responses={201: s.HeartbeatOut, **ERRORS})
    def post(self, request: Request) -> Response:
        data = parse(s.HeartbeatIn, request.data)
        devices = data["devices"]
        beat = services.terminal_heartbeat(
            terminal=self.terminal, software_version=data["software_version"],
            printer_status=devices["printer"], paper_level=devices["paper"],
            card_reader_status=devices["card_reader"],
            payment_terminal_status=devices["payment_terminal"])
        return Response(s.HeartbeatOut({"received_at": beat.received_at,
                                        "next_heartbeat_seconds": HEARTBEAT_EVERY_SECONDS}).data,
                        status=status.HTTP_201_CREATED)


# --- sessions -----------------------------------------------------------------------------


def session_payload(session: KioskSession, token: str | None = None) -> dict[str, Any]:
    from datetime import timedelta

    person = getattr(session.user, "person", None)
    payload = {
        "method": session.method, "assurance_level": session.assurance_level,
        "language": session.language, "started_at": session.started_at,
        "idle_expires_at": session.last_activity_at
        + timedelta(seconds=settings.KIOSK_SESSION_IDLE_SECONDS),
        "citizen": {"first_names": getattr(person, "first_names", session.user.first_name),
                    "last_name": getattr(person, "last_name", session.user.last_name)},
    }
    if token is not None:
        payload["token"] = token
    return payload


class NonceView(TerminalAPIView):
    throttle_classes = [TerminalRateThrottle, SessionOpenRateThrottle]

    @extend_schema(operation_id="session_nonce", tags=["sessions"], request=None,
                   responses={201: s.NonceOut, **ERRORS})
    def post(self, request: Request) -> Response:
        nonce = services.nonce_issue(terminal=self.terminal)
        return Response(s.NonceOut({"nonce": nonce.value, "expires_at": nonce.expires_at}).data,
                        status=status.HTTP_201_CREATED)


class EidSessionView(TerminalAPIView):
    throttle_classes = [TerminalRateThrottle, SessionOpenRateThrottle]

    @extend_schema(operation_id="session_open_eid", tags=["sessions"], request=s.EidSessionIn,
                   responses={201: s.OpenedSessionOut, **EID_ERRORS})
    def post(self, request: Request) -> Response:
        data = parse(s.EidSessionIn, request.data)
        opened = services.session_open_with_eid(
            terminal=self.terminal, nonce=data["nonce"], signature=data["signature"],
            certificates=data["certificates"], language=data.get("language"))
        return Response(s.OpenedSessionOut(session_payload(opened.session, opened.token)).data,
                        status=status.HTTP_201_CREATED)


class DigitalKeyStartView(TerminalAPIView):
    throttle_classes = [TerminalRateThrottle, SessionOpenRateThrottle]

    @extend_schema(operation_id="session_digital_key_start", tags=["sessions"],
                   request=s.DigitalKeyStartIn, responses={202: s.DigitalKeyStartOut, **ERRORS})
    def post(self, request: Request) -> Response:
        data = parse(s.DigitalKeyStartIn, request.data)
        challenge = services.digital_key_start(terminal=self.terminal, email=data["email"])
        return Response({"challenge": challenge}, status=status.HTTP_202_ACCEPTED)


class DigitalKeySessionView(TerminalAPIView):
    throttle_classes = [TerminalRateThrottle, SessionOpenRateThrottle]

    @extend_schema(operation_id="session_open_digital_key", tags=["sessions"],
                   request=s.DigitalKeySessionIn, responses={201: s.OpenedSessionOut, **ERRORS})
    def post(self, request: Request) -> Response:
        data = parse(s.DigitalKeySessionIn, request.data)
        opened = services.session_open_with_digital_key(
            terminal=self.terminal, challenge=data["challenge"], code=data["code"],
            language=data.get("language"))
        return Response(s.OpenedSessionOut(session_payload(opened.session, opened.token)).data,
                        status=status.HTTP_201_CREATED)


class CurrentSessionView(SessionAPIView):
    @extend_schema(operation_id="session_get", tags=["sessions"], parameters=[SESSION_PARAMETER],
                   responses={200: s.SessionOut, **ERRORS})
    def get(self, request: Request) -> Response:
        return Response(s.SessionOut(session_payload(self.citizen_session)).data)

    @extend_schema(operation_id="session_end", tags=["sessions"], parameters=[SESSION_PARAMETER],
                   responses={204: None, **ERRORS})
    def delete(self, request: Request) -> Response:
        services.session_end(session=self.citizen_session)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- procedures ---------------------------------------------------------------------------


class ProcedureListView(TerminalAPIView):
    reads_catalogue = True

    @extend_schema(operation_id="procedures_list", tags=["procedures"],
                   parameters=[LANG_PARAMETER],
                   responses={200: s.ProcedureOut(many=True), **ERRORS})
    def get(self, request: Request) -> HttpResponse:
        # The rendered list comes from a cache (selectors.procedures_list_rendered): the
        # same bytes for every terminal speaking this language until the catalogue changes.
        body = selectors.procedures_list_rendered(JSONRenderer().render)
        return HttpResponse(body, content_type="application/json")


class ProcedureDetailView(TerminalAPIView):
    @extend_schema(operation_id="procedures_get", tags=["procedures"],
                   parameters=[LANG_PARAMETER],
                   responses={200: s.ProcedureDetailOut, **ERRORS})
    def get(self, request: Request, code: str) -> Response:
        procedure = selectors.procedure_on_kiosk(code)
        if procedure is None:
            raise ProcedureNotOffered()
        return Response(selectors.procedure_view(procedure, detail=True))


# --- requests and cases -------------------------------------------------------------------


class CasePagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 20
    max_page_size = 50
    page_size_query_param = "limit"


class RequestCreateView(SessionAPIView):
    reads_catalogue = True

    @extend_schema(operation_id="requests_create", tags=["requests"],
                   parameters=[SESSION_PARAMETER], request=s.RequestIn,
                   responses={201: s.CaseOut, **ERRORS})
    def post(self, request: Request) -> Response:
        data = parse(s.RequestIn, request.data)
        case = services.request_submit(
            session=self.citizen_session, procedure_code=data["procedure"], data=data["data"],
            attachments=[services.AttachmentInput(
                code=a["code"], filename=a["filename"],
                content=eid.decode_base64(a["content"], error=AttachmentUnreadable))
                for a in data["attachments"]])
        return Response(s.case_out(case), status=status.HTTP_201_CREATED)


class CaseListView(SessionAPIView):
    @extend_schema(operation_id="cases_list", tags=["cases"], parameters=[SESSION_PARAMETER],
                   responses={200: s.CasePageOut, **ERRORS})
    def get(self, request: Request) -> Response:
        paginator = CasePagination()
        page = paginator.paginate_queryset(
            selectors.cases_of_session(self.citizen_session), request, view=self)
        return paginator.get_paginated_response([s.case_out(c) for c in page])


class CaseDetailView(SessionAPIView):
    @extend_schema(operation_id="cases_get", tags=["cases"], parameters=[SESSION_PARAMETER],
                   responses={200: s.CaseOut, **ERRORS})
    def get(self, request: Request, reference: str) -> Response:
        return Response(s.case_out(services.citizen_case(session=self.citizen_session,
                                                           reference=reference)))


class CasePaymentView(SessionAPIView):
    @extend_schema(operation_id="payments_start", tags=["payments"], request=None,
                   parameters=[SESSION_PARAMETER], responses={201: s.PaymentOut, **ERRORS})
    def post(self, request: Request, reference: str) -> Response:
        payment = services.payment_begin(session=self.citizen_session, reference=reference)
        return Response(s.PaymentOut(payment).data, status=status.HTTP_201_CREATED)

    @extend_schema(operation_id="payments_status", tags=["payments"],
                   parameters=[SESSION_PARAMETER], responses={200: s.PaymentOut, **ERRORS})
    def get(self, request: Request, reference: str) -> Response:
        payment = services.payment_poll(session=self.citizen_session, reference=reference)
        return Response(s.PaymentOut(payment).data)


class ConnectionTokenView(TerminalAPIView):
    """No citizen session needed: the reader SDK connects when the terminal starts and
    fetches a new token whenever its connection needs one."""

    @extend_schema(
        operation_id="payments_connection_token", tags=["payments"], request=None,
        responses={201: s.ConnectionTokenOut, **ERRORS, 503: s.ErrorOut},
        description="A Stripe Terminal connection token for the terminal's card reader SDK "
                    "(scoped to the terminal's Stripe Terminal location when it has one). "
                    "409 `card_reader_not_stripe_terminal` when the terminals' payment "
                    "provider is not Stripe Terminal; 503 `card_reader_unavailable` when "
                    "Stripe cannot give one right now.")
    def post(self, request: Request) -> Response:
        secret = services.card_reader_connection_token(terminal=self.terminal)
        return Response(s.ConnectionTokenOut({"secret": secret}).data,
                        status=status.HTTP_201_CREATED)


# --- documents ----------------------------------------------------------------------------


class DocumentPagination(CursorPagination):
    ordering = ("-issued_at", "-id")
    page_size = 20
    max_page_size = 50
    page_size_query_param = "limit"


class DocumentListView(SessionAPIView):
    @extend_schema(operation_id="documents_list", tags=["documents"],
                   parameters=[SESSION_PARAMETER], responses={200: s.DocumentPageOut, **ERRORS})
    def get(self, request: Request) -> Response:
        paginator = DocumentPagination()
        page = paginator.paginate_queryset(
            selectors.documents_of_session(self.citizen_session), request, view=self)
        return paginator.get_paginated_response(s.DocumentOut(page, many=True).data)


class DocumentPdfView(SessionAPIView):
    @extend_schema(operation_id="documents_pdf", tags=["documents"],
                   parameters=[SESSION_PARAMETER],
                   responses={(200, "application/pdf"): OpenApiTypes.BINARY, **ERRORS})
    def get(self, request: Request, code: str) -> FileResponse:
        document = services.document_for_print(session=self.citizen_session, code=code)
        return FileResponse(document.file.open("rb"), content_type="application/pdf",
                            filename=f"{document.case.reference}.pdf")


class DocumentPrintedView(SessionAPIView):
    @extend_schema(operation_id="documents_printed", tags=["documents"], request=None,
                   parameters=[SESSION_PARAMETER],
                   responses={201: s.PrintAckOut, 200: s.PrintAckOut, **ERRORS})
    def post(self, request: Request, code: str) -> Response:
        ack, created = services.print_acknowledge(session=self.citizen_session, code=code)
        return Response(s.PrintAckOut(ack).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
