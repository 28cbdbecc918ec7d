"""School API for letters and batches: read letters, list batches, approve a batch, follow its progress.

Every view inherits `SchoolAPIView` (scope and role); querysets are filtered by the school from the URL,
so another school's letter or batch is a 404. Approving a batch is the same service as the review page.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from attendance_portal.api import SchoolAPIView, SignedInAPIRequest

from . import selectors, services
from .models import Letter, LetterBatch, LetterKind, LetterSend


class LetterSendOut(serializers.ModelSerializer):
    class Meta:
        model = LetterSend
        fields = ["channel", "to", "sent_at", "approved_by", "ok", "error"]
        read_only_fields = fields


class LetterOut(serializers.ModelSerializer):
    sends = LetterSendOut(many=True, read_only=True)
    template_version = serializers.IntegerField(source="template.version", read_only=True)

    class Meta:
        model = Letter
        fields = ["id", "pupil", "guardian", "kind", "language", "template", "template_version", "status",
                  "sessions", "case_ref", "batch", "envelope_order", "requested_by", "approved_by", "created_at",
                  "rendered_at", "sent_at", "pdf_sha256", "pages", "evidence_changed_at", "warnings", "sends"]
        read_only_fields = fields


class BatchOut(serializers.ModelSerializer):
    total = serializers.SerializerMethodField()
    settled = serializers.SerializerMethodField()
    percent = serializers.SerializerMethodField()

    class Meta:
        model = LetterBatch
        fields = ["id", "kind", "status", "approved_by", "created_at", "finished_at", "print_letters",
                  "print_sha256", "total", "settled", "percent"]
        read_only_fields = fields

    def _progress(self, obj: LetterBatch) -> selectors.BatchProgress:
        cache = self.context.setdefault("progress", {})  # type: ignore[attr-defined]  # DRF passes a dict
        if obj.pk not in cache:
            cache[obj.pk] = selectors.batch_progress(batch=obj)
        return cache[obj.pk]

    def get_total(self, obj: LetterBatch) -> int:
        return self._progress(obj).total

    def get_settled(self, obj: LetterBatch) -> int:
        return self._progress(obj).settled

    def get_percent(self, obj: LetterBatch) -> int:
        return self._progress(obj).percent


class BatchIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=LetterKind.choices)
    pupils = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1, max_length=2000)


class LetterList(mixins.ListModelMixin, SchoolAPIView):
    """Letters of the school, newest first. `?pupil=`, `?status=`, `?kind=`, `?batch=` narrow the list."""

    read_permission = "send_letters"
    write_permission = "send_letters"
    serializer_class = LetterOut

    def scoped_queryset(self) -> QuerySet[Letter]:
        qs = Letter.objects.filter(school=self.school).select_related("template").prefetch_related("sends") \
            .order_by("-created_at", "envelope_order")
        params = self.request.query_params
        for name, field in (("pupil", "pupil_id"), ("batch", "batch_id")):
            if params.get(name):
                if not params[name].isdigit():
                    raise serializers.ValidationError({name: f"'{params[name]}' is not a whole number."})
                qs = qs.filter(**{field: int(params[name])})
        for name in ("status", "kind"):
            if params.get(name):
                qs = qs.filter(**{name: params[name]})
        return qs

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.list(request, *args, **kwargs)


class LetterDetail(mixins.RetrieveModelMixin, SchoolAPIView):
    read_permission = "send_letters"
    write_permission = "send_letters"
    serializer_class = LetterOut

    def scoped_queryset(self) -> QuerySet[Letter]:
        return Letter.objects.filter(school=self.school).select_related("template").prefetch_related("sends")

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.retrieve(request, *args, **kwargs)


class BatchList(mixins.ListModelMixin, SchoolAPIView):
    """Batches of letters, newest first; POST approves a new batch (the caller is the approver)."""

    read_permission = "send_letters"
    write_permission = "send_letters"
    serializer_class = BatchOut

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return BatchIn if self.request.method == "POST" else BatchOut

    def scoped_queryset(self) -> QuerySet[LetterBatch]:
        return LetterBatch.objects.filter(school=self.school).order_by("-created_at")

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.list(request, *args, **kwargs)

    @extend_schema(request=BatchIn, responses={201: BatchOut})
    def post(self, request: SignedInAPIRequest, *args: Any, **kwargs: Any) -> Response:
        data = BatchIn(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            batch = services.batch_approve(school=self.school, kind=data.validated_data["kind"],
                                           pupil_ids=data.validated_data["pupils"], by=request.user)
        except ValueError as exc:
            raise serializers.ValidationError({"detail": [str(exc)]}) from exc
        return Response(BatchOut(batch).data, status=201)


class BatchDetail(mixins.RetrieveModelMixin, SchoolAPIView):
    read_permission = "send_letters"
    write_permission = "send_letters"
    serializer_class = BatchOut

    def scoped_queryset(self) -> QuerySet[LetterBatch]:
        return LetterBatch.objects.filter(school=self.school)

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.retrieve(request, *args, **kwargs)


urlpatterns = [
    path("letters/", LetterList.as_view(), name="letter-list"),
    path("letters/<int:pk>/", LetterDetail.as_view(), name="letter-detail"),
    path("letter-batches/", BatchList.as_view(), name="letter-batch-list"),
    path("letter-batches/<int:pk>/", BatchDetail.as_view(), name="letter-batch-detail"),
]
