"""Public verification API: no login, rate-limited per IP, answers in the Accept-Language
language. Documented in the OpenAPI schema (drf-spectacular)."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import get_language
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from signing import messages as texts
from signing import services
from signing.constants import VerificationChannel, VerificationResult
from signing.views import client_ip, verification_limited


class VerifyInput(serializers.Serializer):
    code = serializers.CharField(required=False, max_length=64,
                                 help_text="Verification code printed on the document.")
    file = serializers.FileField(required=False, help_text="The PDF document to check.")

    def validate(self, attrs):
        if bool(attrs.get("code")) == bool(attrs.get("file")):
            raise serializers.ValidationError("Give either a code or a file.")
        return attrs


class SealOutput(serializers.Serializer):
    outcome = serializers.CharField()
    intact = serializers.BooleanField()
    trusted = serializers.BooleanField()
    unmodified_after_signing = serializers.BooleanField(source="covers_whole_document")
    signed_at = serializers.DateTimeField(allow_null=True)
    timestamp_at = serializers.DateTimeField(allow_null=True)
    timestamp_trusted = serializers.BooleanField()
    revocation_info_embedded = serializers.BooleanField()
    signer = serializers.CharField(source="signer.subject", allow_null=True, default=None)


class DocumentOutput(serializers.Serializer):
    kind = serializers.CharField(source="case.procedure.name")
    issued_at = serializers.DateTimeField()
    valid_from = serializers.DateField(allow_null=True)
    valid_until = serializers.DateField(allow_null=True)
    revoked = serializers.BooleanField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    seal_level = serializers.CharField()


class VerifyOutput(serializers.Serializer):
    result = serializers.ChoiceField(choices=VerificationResult.choices)
    authentic = serializers.BooleanField()
    headline = serializers.CharField()
    explanation = serializers.CharField()
    document = DocumentOutput(allow_null=True)
    seal = SealOutput(allow_null=True)
    checked_at = serializers.DateTimeField()


class VerifyView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(
        operation_id="verify_document",
        summary="Verify a document issued by the city",
        description=("Send the verification code (JSON or form) or the PDF (multipart). "
                     "The answer says whether the seal is valid, whether the file is a "
                     "document the city issued, and whether it was revoked. Rate-limited per "
                     "client (429). Texts follow Accept-Language (fr, nl, en, de)."),
        request={"application/json": VerifyInput, "multipart/form-data": VerifyInput},
        responses={200: VerifyOutput, 400: VerifyOutput, 413: VerifyOutput, 429: None},
        parameters=[OpenApiParameter("Accept-Language", str, OpenApiParameter.HEADER,
                                     required=False)],
        examples=[OpenApiExample("By code", value={"code": "ABCD-EFGH-IJKL-MNOP-QRST"},
                                 request_only=True)],
        tags=["verification"],
    )
    def post(self, request: Request) -> Response:
        if verification_limited(request._request):
            return Response({"code": "rate_limited",
                             "message": str(texts.MESSAGES_RATE_LIMITED)},
                            status=status.HTTP_429_TOO_MANY_REQUESTS)
        common = {"channel": VerificationChannel.API, "language": get_language() or "",
                  "client_ip": client_ip(request._request)}
        upload = request.FILES.get("file")
        if upload is not None and upload.size > settings.SIGNING_VERIFY_MAX_UPLOAD_BYTES:
            report = services.verification_too_large(size=upload.size, **common)
            return Response(self._out(report), status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        data = VerifyInput(data=request.data)
        if not data.is_valid():
            return Response({"code": "invalid", "message": "Give either a code or a file.",
                             "details": data.errors}, status=status.HTTP_400_BAD_REQUEST)
        if upload is not None:
            report = services.document_verify(pdf_bytes=upload.read(), **common)
        else:
            report = services.document_verify(code=data.validated_data["code"], **common)
        return Response(self._out(report), status=status.HTTP_200_OK)

    @staticmethod
    def _out(report: services.VerificationReport) -> dict:
        return VerifyOutput({
            "result": report.result, "authentic": report.authentic,
            "headline": texts.headline(report.result),
            "explanation": texts.explanation(report.result),
            "document": report.document, "seal": report.seal,
            "checked_at": report.checked_at,
        }).data
