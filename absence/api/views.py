"""School API for absence reports, leave requests and the first-day contact log.

Every view inherits `SchoolAPIView`, which opens the school's scope and checks the role; querysets
are built in `scoped_queryset()` and always filtered by the school from the URL.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from attendance_portal.api import SchoolAPIView, SignedInAPIRequest
from registers import codes
from registers.models import Mark, Pupil

from .. import selectors, services
from ..models import AbsenceReport, ContactAttempt, LeaveRequest


class AbsenceReportOut(serializers.ModelSerializer):
    class Meta:
        model = AbsenceReport
        fields = ["id", "reference", "pupil", "first_date", "last_date", "sessions", "category", "message",
                  "late", "status", "code", "decision_reason", "created_at", "decided_at"]
        read_only_fields = fields


class LeaveRequestOut(serializers.ModelSerializer):
    has_evidence = serializers.SerializerMethodField()
    # Same choices as `circumstance`; a plain string keeps one enum in the schema.
    granted_circumstance = serializers.CharField(read_only=True)

    class Meta:
        model = LeaveRequest
        fields = ["id", "reference", "pupil", "first_date", "last_date", "sessions", "circumstance", "reason",
                  "status", "granted_circumstance", "decision_reason", "has_evidence", "created_at", "decided_at"]
        read_only_fields = fields

    def get_has_evidence(self, obj: LeaveRequest) -> bool:
        return bool(obj.evidence)


class ContactAttemptOut(serializers.ModelSerializer):
    by_name = serializers.SerializerMethodField()

    class Meta:
        model = ContactAttempt
        fields = ["id", "pupil", "contact", "absence_date", "method", "outcome", "note", "at", "recorded_at",
                  "by_name"]
        read_only_fields = fields

    def get_by_name(self, obj: ContactAttempt) -> str:
        return obj.by.display_name() if obj.by else ""


class ContactAttemptIn(serializers.Serializer):
    pupil = serializers.IntegerField()
    contact = serializers.IntegerField(required=False, allow_null=True)
    absence_date = serializers.DateField(required=False)
    method = serializers.ChoiceField(choices=ContactAttempt.Method.choices)
    outcome = serializers.ChoiceField(choices=ContactAttempt.Outcome.choices)
    note = serializers.CharField(required=False, allow_blank=True, max_length=500)
    at = serializers.DateTimeField(required=False)


class _Filtered:
    """`?pupil=`, `?status=` and `?from=` / `?to=` filters shared by the list endpoints."""

    date_field = "first_date"

    def filter_params(self, qs: QuerySet[Any], request: Request) -> QuerySet[Any]:
        params = request.query_params
        if params.get("pupil", "").isdigit():
            qs = qs.filter(pupil_id=int(params["pupil"]))
        if params.get("status"):
            statuses = getattr(getattr(qs.model, "Status", None), "values", None)
            if statuses is None:
                raise serializers.ValidationError({"status": ["This list cannot be filtered by status."]})
            if params["status"] not in statuses:
                raise serializers.ValidationError({"status": [f"Choose one of: {', '.join(statuses)}."]})
            qs = qs.filter(status=params["status"])
        field = self.date_field
        for key, lookup in (("from", "gte"), ("to", "lte")):
            if params.get(key):
                try:
                    qs = qs.filter(**{f"{field}__{lookup}": serializers.DateField().to_internal_value(params[key])})
                except serializers.ValidationError:
                    qs = qs.none()
        return qs


class AbsenceReportList(_Filtered, mixins.ListModelMixin, SchoolAPIView):
    """Parents' absence reports (newest first)."""

    read_permission = "follow_up_absence"
    write_permission = "follow_up_absence"
    serializer_class = AbsenceReportOut

    def scoped_queryset(self) -> QuerySet[AbsenceReport]:
        qs = AbsenceReport.objects.filter(school=self.school).order_by("-created_at")
        return self.filter_params(qs, self.request)

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.list(request, *args, **kwargs)


class AbsenceReportDetail(mixins.RetrieveModelMixin, SchoolAPIView):
    read_permission = "follow_up_absence"
    write_permission = "follow_up_absence"
    serializer_class = AbsenceReportOut

    def scoped_queryset(self) -> QuerySet[AbsenceReport]:
        return AbsenceReport.objects.filter(school=self.school)

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.retrieve(request, *args, **kwargs)


class LeaveRequestList(_Filtered, mixins.ListModelMixin, SchoolAPIView):
    """Leave-of-absence requests (newest first)."""

    read_permission = "follow_up_absence"
    write_permission = "decide_leave"
    serializer_class = LeaveRequestOut

    def scoped_queryset(self) -> QuerySet[LeaveRequest]:
        qs = LeaveRequest.objects.filter(school=self.school).order_by("-created_at")
        return self.filter_params(qs, self.request)

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.list(request, *args, **kwargs)


class LeaveRequestDetail(mixins.RetrieveModelMixin, SchoolAPIView):
    read_permission = "follow_up_absence"
    write_permission = "decide_leave"
    serializer_class = LeaveRequestOut

    def scoped_queryset(self) -> QuerySet[LeaveRequest]:
        return LeaveRequest.objects.filter(school=self.school)

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.retrieve(request, *args, **kwargs)


class ContactAttemptList(_Filtered, mixins.ListModelMixin, SchoolAPIView):
    """The first-day calling log: list, or record one attempt."""

    read_permission = "follow_up_absence"
    write_permission = "follow_up_absence"
    serializer_class = ContactAttemptOut
    date_field = "absence_date"

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return ContactAttemptIn if self.request.method == "POST" else ContactAttemptOut

    def scoped_queryset(self) -> QuerySet[ContactAttempt]:
        qs = ContactAttempt.objects.filter(school=self.school).select_related("by").order_by("-at")
        return self.filter_params(qs, self.request)

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.list(request, *args, **kwargs)

    @extend_schema(request=ContactAttemptIn, responses={201: ContactAttemptOut})
    def post(self, request: SignedInAPIRequest, *args: Any, **kwargs: Any) -> Response:
        data = ContactAttemptIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        # The pupil is looked up inside this school's scope: another school's id is "not found".
        pupil = Pupil.objects.filter(school=self.school, pk=values["pupil"]).first()
        if pupil is None:
            raise serializers.ValidationError({"pupil": ["No such pupil in this school."]})
        try:
            attempt = services.contact_attempt_record(
                pupil=pupil, by=request.user, method=values["method"], outcome=values["outcome"],
                note=values.get("note", ""), contact_id=values.get("contact"),
                absence_date=values.get("absence_date"), at=values.get("at"),
            )
        except services.AbsenceError as exc:
            raise serializers.ValidationError({"detail": exc.messages}) from exc
        return Response(ContactAttemptOut(attempt).data, status=201)


class AgedNCodeOut(serializers.Serializer):
    pupil = serializers.IntegerField(source="pupil_id")
    date = serializers.DateField()
    session = serializers.CharField()
    overdue_since = serializers.DateField()

    class Meta:
        model = Mark


class AgedNCodeList(SchoolAPIView):
    """N codes not replaced in time (dfe-rules R7), oldest first: the office's aged-N list. `?on=YYYY-MM-DD`
    asks as of another day; `overdue_since` is the first school day each mark was overdue."""

    read_permission = "follow_up_absence"
    write_permission = "amend_mark"
    serializer_class = AgedNCodeOut

    def scoped_queryset(self) -> QuerySet[Any]:
        # The school's N marks; which of them are overdue is the selector's rule (see get).
        return Mark.objects.filter(school=self.school, code=codes.NOT_ESTABLISHED)

    @extend_schema(responses={200: AgedNCodeOut(many=True)})
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        on = timezone.localdate()
        if request.query_params.get("on"):
            on = serializers.DateField().to_internal_value(request.query_params["on"])
        days, marks = selectors.aged_n_codes_with_days(school=self.school, today=on)
        limit = selectors.policy_for(school=self.school, day=on).n_code_limit_school_days
        rows = [{"pupil_id": m.pupil_id, "date": m.date, "session": m.session,
                 "overdue_since": codes.n_overdue_from(days, m.date, limit)} for m in marks]
        return Response(AgedNCodeOut(rows, many=True).data)
