"""School API for casework: cases, their timelines (read, and notes added), meetings and contracts.

Every view inherits `SchoolAPIView` (scope and role checked there); reads and writes need "work_cases".
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from attendance_portal.api import SchoolAPIView, SignedInAPIRequest

from . import services
from .models import AttendanceContract, Case, CaseEvent, Meeting


# Choice fields are plain strings in the schema: the same names (kind, status, outcome) carry different
# choices on different models, and one enum per name keeps the schema unambiguous.
class CaseOut(serializers.ModelSerializer):
    stage_name = serializers.CharField(source="stage.name", default="", read_only=True)
    status = serializers.CharField(read_only=True)
    outcome = serializers.CharField(read_only=True)

    class Meta:
        model = Case
        fields = ["id", "pupil", "enrolment", "owner", "stage", "stage_name", "stage_since", "status", "outcome",
                  "opened_on", "opened_reason", "closed_on", "improved", "next_due", "next_action"]
        read_only_fields = fields


class CaseEventOut(serializers.ModelSerializer):
    kind = serializers.CharField(read_only=True)

    class Meta:
        model = CaseEvent
        fields = ["id", "case", "kind", "at", "by", "title", "why", "status", "approved_by", "sessions", "figures",
                  "detail"]
        read_only_fields = fields


class CaseNoteIn(serializers.Serializer):
    kind = serializers.CharField(help_text="note, call or home_visit")
    text = serializers.CharField(max_length=4000)

    def validate_kind(self, value: str) -> str:
        if value not in services.NOTE_KINDS:
            raise serializers.ValidationError("Choose note, call or home_visit.")
        return value


class MeetingOut(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True)

    class Meta:
        model = Meeting
        fields = ["id", "case", "meeting_type", "when", "place", "invitees", "status", "attended", "minutes",
                  "agreed_actions"]
        read_only_fields = fields


class ContractOut(serializers.ModelSerializer):
    kind = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True)
    outcome = serializers.CharField(read_only=True)

    class Meta:
        model = AttendanceContract
        fields = ["id", "case", "kind", "status", "start", "end", "review_on", "extended_to", "target_percent",
                  "reasons", "parent_commitments", "school_support", "la_support", "pupil_views", "issues",
                  "agreed_actions", "signed_by_parent_on", "signed_by_school_on", "outcome"]
        read_only_fields = fields


class _CaseWork(SchoolAPIView):
    read_permission = "work_cases"
    write_permission = "work_cases"

    def of_case(self, qs: QuerySet[Any]) -> QuerySet[Any]:
        """`qs` limited to one case when `?case=<id>` asks for it."""
        case = self.request.query_params.get("case")
        if case:
            if not case.isdigit():
                raise exceptions.ValidationError({"case": ["A case id is a whole number."]})
            qs = qs.filter(case_id=int(case))
        return qs


STATUSES = [s.value for s in Case.Status]


class CaseList(mixins.ListModelMixin, _CaseWork):
    """Cases of the school, newest first; `?status=open|monitoring|closed`."""

    serializer_class = CaseOut

    def scoped_queryset(self) -> QuerySet[Case]:
        qs = Case.objects.filter(school=self.school).select_related("stage").order_by("-opened_on", "-pk")
        status = self.request.query_params.get("status")
        if status:
            if status not in STATUSES:
                raise exceptions.ValidationError({"status": [f"Choose one of {', '.join(STATUSES)}."]})
            qs = qs.filter(status=status)
        return qs

    @extend_schema(parameters=[OpenApiParameter("status", str, enum=STATUSES)])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.list(request, *args, **kwargs)


class CaseDetail(mixins.RetrieveModelMixin, _CaseWork):
    serializer_class = CaseOut

    def scoped_queryset(self) -> QuerySet[Case]:
        return Case.objects.filter(school=self.school).select_related("stage")

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.retrieve(request, *args, **kwargs)


class CaseEventList(mixins.ListModelMixin, _CaseWork):
    """A case's timeline (oldest first), or a note, call or home visit added to it."""

    serializer_class = CaseEventOut

    def _case(self) -> Case:
        case = Case.objects.filter(school=self.school, pk=self.kwargs["case_id"]).first()
        if case is None:
            raise exceptions.NotFound("No such case.")
        return case

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return CaseNoteIn if self.request.method == "POST" else CaseEventOut

    def scoped_queryset(self) -> QuerySet[CaseEvent]:
        return CaseEvent.objects.filter(school=self.school, case=self._case()).order_by("at", "pk")

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.list(request, *args, **kwargs)

    @extend_schema(request=CaseNoteIn, responses={201: CaseEventOut})
    def post(self, request: SignedInAPIRequest, *args: Any, **kwargs: Any) -> Response:
        case = self._case()
        data = CaseNoteIn(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            event = services.case_note(case=case, kind=data.validated_data["kind"], by=request.user,
                                       text=data.validated_data["text"])
        except ValidationError as error:
            raise serializers.ValidationError({"detail": error.messages}) from error
        return Response(CaseEventOut(event).data, status=201)


class MeetingList(mixins.ListModelMixin, _CaseWork):
    """Meetings of the school's cases; `?case=<id>`."""

    serializer_class = MeetingOut

    def scoped_queryset(self) -> QuerySet[Meeting]:
        return self.of_case(Meeting.objects.filter(school=self.school).order_by("when"))

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.list(request, *args, **kwargs)


class ContractList(mixins.ListModelMixin, _CaseWork):
    """Attendance contracts and action plans of the school's cases; `?case=<id>`."""

    serializer_class = ContractOut

    def scoped_queryset(self) -> QuerySet[AttendanceContract]:
        return self.of_case(AttendanceContract.objects.filter(school=self.school).order_by("-start"))

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.list(request, *args, **kwargs)
