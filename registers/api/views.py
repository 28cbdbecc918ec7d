"""Registers API: pupils, enrolments, groups, registers of a day, marks, and the amendment history.

Every view subclasses `SchoolAPIView`, which resolves the school from the URL, opens its scope and
checks the role; another school's objects are simply not in `scoped_queryset()`, so they are 404.
Writing a register follows exactly the rules of the register page (`registers.marking.register_save`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers as drf_serializers
from rest_framework import status
from rest_framework.mixins import ListModelMixin, RetrieveModelMixin
from rest_framework.request import Request
from rest_framework.response import Response

from accesslog.models import AccessKind
from accesslog.services import access_record
from attendance_portal.api import SchoolAPIView, SignedInAPIRequest
from attendance_portal.permissions import can
from registers.marking import local_today, register_build, register_save, register_statuses
from registers.models import Enrolment, Mark, Pupil, RegistrationGroup
from registers.selectors import mark_events
from registers.services import MarkEntry

from . import serializers as s

MAX_RANGE_DAYS = 400

DATE_FROM = OpenApiParameter("date_from", OpenApiTypes.DATE, required=True,
                             description="First session date (YYYY-MM-DD).")
DATE_TO = OpenApiParameter("date_to", OpenApiTypes.DATE, required=True,
                           description=f"Last session date, at most {MAX_RANGE_DAYS} days after date_from.")
GROUP = OpenApiParameter("group", OpenApiTypes.INT, description="Only pupils now in this registration group.")
PUPIL = OpenApiParameter("pupil", OpenApiTypes.INT, description="Only this pupil.")


def _int_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    if not raw.isdigit():
        raise drf_serializers.ValidationError({name: f"'{raw}' is not a whole number."})
    return int(raw)


def _date_param(request: Request, name: str, *, required: bool = True) -> dt.date | None:
    raw = request.query_params.get(name)
    if not raw:
        if required:
            raise drf_serializers.ValidationError({name: "This parameter is required (YYYY-MM-DD)."})
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise drf_serializers.ValidationError({name: f"'{raw}' is not a date; use YYYY-MM-DD."}) from None


def _date_range(request: Request) -> tuple[dt.date, dt.date]:
    start, end = _date_param(request, "date_from"), _date_param(request, "date_to")
    if start is None or end is None:  # unreachable: both are required above
        raise drf_serializers.ValidationError("date_from and date_to are required.")
    if end < start:
        raise drf_serializers.ValidationError({"date_to": "date_to must not be before date_from."})
    if (end - start).days > MAX_RANGE_DAYS:
        raise drf_serializers.ValidationError({"date_to": f"Ask for at most {MAX_RANGE_DAYS} days at a time."})
    return start, end


class PupilList(ListModelMixin, SchoolAPIView):
    """Pupils of the school. Cohort characteristics only for roles allowed to see sensitive data."""

    read_permission = "view_pupils"
    queryset = Pupil.objects.none()  # for the schema only; requests use scoped_queryset()
    filter_backends: list[Any] = []

    def scoped_queryset(self) -> QuerySet[Pupil]:
        found = Pupil.objects.filter(school=self.school).order_by("surname", "forename", "pk")
        group = _int_param(self.request, "group")
        if group is not None:
            found = found.filter(registration_group_id=group)
        if self.request.query_params.get("year_group"):
            found = found.filter(year_group=self.request.query_params["year_group"])
        return found

    def get_serializer_class(self) -> type[s.PupilSerializer]:
        school = getattr(self, "school", None)
        if school is not None and can(self.request.user, "view_sensitive", school):
            return s.PupilSensitiveSerializer
        return s.PupilSerializer

    @extend_schema(
        parameters=[GROUP, OpenApiParameter("year_group", OpenApiTypes.STR)],
        responses=s.PupilSensitiveSerializer(many=True),
        description="sen, fsm, eal, looked_after, child_in_need and has_social_worker appear only for roles "
                    "with the view_sensitive permission.",
    )
    def get(self, request: SignedInAPIRequest, *args: Any, **kwargs: Any) -> Response:
        response = self.list(request, *args, **kwargs)
        if self.get_serializer_class() is s.PupilSensitiveSerializer:
            shown = response.data.get("results", response.data) if isinstance(response.data, dict) else response.data
            access_record(school=self.school, by=request.user, kind=AccessKind.SENSITIVE,
                          what=f"Cohort characteristics of {len(shown)} pupil(s) in the API pupil list",
                          path=request.get_full_path())
        return response


class PupilDetail(RetrieveModelMixin, SchoolAPIView):
    read_permission = "view_pupils"
    queryset = Pupil.objects.none()
    filter_backends: list[Any] = []
    get_serializer_class = PupilList.get_serializer_class

    def scoped_queryset(self) -> QuerySet[Pupil]:
        return Pupil.objects.filter(school=self.school)

    @extend_schema(responses=s.PupilSensitiveSerializer)
    def get(self, request: SignedInAPIRequest, *args: Any, **kwargs: Any) -> Response:
        pupil = self.get_object()
        serializer_class = self.get_serializer_class()  # type: ignore[misc]  # PupilList's: reads only school, request
        if serializer_class is s.PupilSensitiveSerializer:
            access_record(school=self.school, by=request.user, kind=AccessKind.SENSITIVE, pupil=pupil,
                          what="Cohort characteristics through the API", path=request.get_full_path())
        return Response(serializer_class(pupil, context=self.get_serializer_context()).data)


class EnrolmentList(ListModelMixin, SchoolAPIView):
    """The admission register: every enrolment, optionally for one pupil."""

    read_permission = "view_pupils"
    queryset = Enrolment.objects.none()
    serializer_class = s.EnrolmentSerializer
    filter_backends: list[Any] = []

    def scoped_queryset(self) -> QuerySet[Enrolment]:
        found = Enrolment.objects.filter(school=self.school).order_by("pupil_id", "admission_date")
        pupil = _int_param(self.request, "pupil")
        return found if pupil is None else found.filter(pupil_id=pupil)

    @extend_schema(parameters=[PUPIL])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.list(request, *args, **kwargs)


class GroupList(ListModelMixin, SchoolAPIView):
    read_permission = "view_pupils"
    queryset = RegistrationGroup.objects.none()
    serializer_class = s.RegistrationGroupSerializer
    filter_backends: list[Any] = []

    def scoped_queryset(self) -> QuerySet[RegistrationGroup]:
        return RegistrationGroup.objects.filter(school=self.school)

    def get_serializer_context(self) -> dict[str, Any]:
        from staff.selectors import group_teachers

        return {**super().get_serializer_context(), "group_teachers": group_teachers(school=self.school)}

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.list(request, *args, **kwargs)


class RegisterList(SchoolAPIView):
    """Every registration group × AM/PM for one date, with its progress."""

    read_permission = "view_pupils"
    queryset = RegistrationGroup.objects.none()
    serializer_class = s.RegisterStatusSerializer
    filter_backends: list[Any] = []
    pagination_class = None

    def scoped_queryset(self) -> QuerySet[RegistrationGroup]:
        return RegistrationGroup.objects.filter(school=self.school)

    @extend_schema(
        parameters=[OpenApiParameter("date", OpenApiTypes.DATE, description="Default: today in Europe/London.")],
        responses=s.RegisterStatusSerializer(many=True),
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        day = _date_param(request, "date", required=False) or local_today()
        return Response(s.RegisterStatusSerializer(register_statuses(school=self.school, day=day), many=True).data)


class RegisterDetail(SchoolAPIView):
    """One register: read it, or save it in one request with the same rules as the register page."""

    read_permission = "view_pupils"
    write_permission = "mark_register"
    queryset = RegistrationGroup.objects.none()
    serializer_class = s.RegisterSerializer
    filter_backends: list[Any] = []
    pagination_class = None

    def scoped_queryset(self) -> QuerySet[RegistrationGroup]:
        return RegistrationGroup.objects.filter(school=self.school)

    def _register(self, kwargs: dict[str, Any]) -> Any:
        from staff.selectors import codes_allowed

        group = get_object_or_404(self.scoped_queryset(), pk=kwargs["group_id"])
        return register_build(school=self.school, group=group, day=kwargs["date"], session=kwargs["session"],
                              allowed=codes_allowed(school=self.school, user=self.request.user))

    @extend_schema(responses=s.RegisterSerializer)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(s.RegisterSerializer(self._register(kwargs)).data)

    @extend_schema(
        request=s.RegisterWriteSerializer,
        responses={
            200: OpenApiResponse(s.RegisterWriteResultSerializer,
                                 description="Saved. Any rows someone else changed first are listed in `conflicts` "
                                             "with their current value and were not written; the rest was saved."),
            400: OpenApiResponse(s.RegisterErrorSerializer,
                                 description="A row was invalid, a saved code changed without a reason, or the role "
                                             "may not change saved marks. Nothing was saved."),
            409: OpenApiResponse(s.RegisterWriteResultSerializer,
                                 description="Every row conflicted with a newer mark: nothing was saved. "
                                             "Read the current values and versions from `conflicts`."),
        },
        examples=[OpenApiExample("Mark two pupils", request_only=True, value={
            "reason": "", "marks": [{"pupil": 101, "code": "/", "version": None},
                                    {"pupil": 102, "code": "L", "minutes_late": 7, "version": None}]})],
        description="Send a row for each pupil you want to mark, with the `version` of the mark you saw "
                    "(null if there was none). A row whose version is out of date is a conflict, never an "
                    "overwrite. Changing a saved code or minutes late needs `reason` and the amend_mark permission.",
    )
    def post(self, request: SignedInAPIRequest, *args: Any, **kwargs: Any) -> Response:
        body = s.RegisterWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        register = self._register(kwargs)
        entries = []
        for row in body.validated_data["marks"]:
            code = row["code"].strip()
            entries.append(MarkEntry(
                pupil_id=row["pupil"], date=register.day, session=register.session,
                code=code if code in ("/", "\\") else code.upper(), minutes_late=row.get("minutes_late"),
                note=row.get("note", "").strip(), expected_version=row.get("version"),
            ))
        outcome = register_save(
            school=self.school, register=register, entries=entries, by=request.user,
            reason=body.validated_data["reason"], may_amend=can(request.user, "amend_mark", self.school), source="api",
        )
        if not outcome.ok:
            return Response({
                "detail": outcome.message or "Nothing was saved: correct the rows listed in errors.",
                "errors": [{"pupil": pid, "message": msg} for pid, msg in sorted(outcome.errors.items())],
            }, status=status.HTTP_400_BAD_REQUEST)
        result = outcome.result
        if result is None:  # an outcome without errors always carries a result
            raise RuntimeError("register_save returned neither errors nor a result")
        data = {
            "created": result.created, "amended": result.amended, "unchanged": result.unchanged,
            "skipped": outcome.skipped,
            "conflicts": [{"pupil": c.entry.pupil_id, "submitted_code": c.entry.code, "current_code": c.current_code,
                           "current_minutes_late": c.current_minutes_late, "current_version": c.current_version}
                          for c in result.conflicts],
        }
        all_conflicted = bool(result.conflicts) and not (result.written or result.unchanged or outcome.skipped)
        return Response(data, status=status.HTTP_409_CONFLICT if all_conflicted else status.HTTP_200_OK)


class MarkList(ListModelMixin, SchoolAPIView):
    """Marks for sessions in a date range, ordered by date, session and pupil."""

    read_permission = "view_pupils"
    queryset = Mark.objects.none()
    serializer_class = s.MarkSerializer
    filter_backends: list[Any] = []

    def scoped_queryset(self) -> QuerySet[Mark]:
        start, end = _date_range(self.request)
        found = Mark.objects.filter(school=self.school, date__range=(start, end))
        group, pupil = _int_param(self.request, "group"), _int_param(self.request, "pupil")
        if group is not None:
            found = found.filter(pupil__registration_group_id=group)
        if pupil is not None:
            found = found.filter(pupil_id=pupil)
        return found.order_by("date", "session", "pupil_id")

    @extend_schema(parameters=[DATE_FROM, DATE_TO, GROUP, PUPIL])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.list(request, *args, **kwargs)


class AmendmentList(SchoolAPIView):
    """The append-only history of marks in a date range: each entry with the value it replaced."""

    read_permission = "view_pupils"
    queryset = Mark.objects.none()
    serializer_class = s.AmendmentSerializer
    filter_backends: list[Any] = []

    def scoped_queryset(self) -> QuerySet[Mark]:
        return Mark.objects.filter(school=self.school)

    @extend_schema(
        parameters=[DATE_FROM, DATE_TO, GROUP, PUPIL,
                    OpenApiParameter("amended_only", OpenApiTypes.BOOL,
                                     description="Only changes, not first entries.")],
        responses=s.AmendmentSerializer(many=True),
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        start, end = _date_range(request)
        rows = mark_events(
            school=self.school, date_from=start, date_to=end, pupil_id=_int_param(request, "pupil"),
            group_id=_int_param(request, "group"),
            amended_only=request.query_params.get("amended_only", "").lower() in ("1", "true", "yes"),
        )
        page = self.paginate_queryset(rows)
        if page is not None:
            return self.get_paginated_response(s.AmendmentSerializer(page, many=True).data)
        return Response(s.AmendmentSerializer(rows, many=True).data)
