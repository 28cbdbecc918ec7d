"""The access log over the API: read-only, for the roles that may read it on the page (the headteacher)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.mixins import ListModelMixin
from rest_framework.request import Request
from rest_framework.response import Response

from attendance_portal.api import SchoolAPIView

from .models import AccessRecord
from .selectors import access_log


class AccessRecordSerializer(serializers.ModelSerializer):
    class Meta:
        model = AccessRecord
        fields = ["id", "at", "kind", "user", "user_name", "pupil", "what", "path"]


class AccessLogQuery(serializers.Serializer):
    user = serializers.IntegerField(required=False, min_value=1, help_text="Only this person's entries.")
    pupil = serializers.IntegerField(required=False, min_value=1, help_text="Only entries about this pupil.")
    date_from = serializers.DateField(required=False, help_text="First day (YYYY-MM-DD).")
    date_to = serializers.DateField(required=False, help_text="Last day (YYYY-MM-DD).")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("date_from"), attrs.get("date_to")
        if start and end and end < start:
            raise serializers.ValidationError({"date_to": "date_to must not be before date_from."})
        return attrs


class AccessLogList(ListModelMixin, SchoolAPIView):
    """Who opened which pupil's sensitive details, evidence file or letter, and every export; newest first."""

    read_permission = "view_access_log"
    write_permission = "view_access_log"  # there is nothing to write: other methods are not allowed
    serializer_class = AccessRecordSerializer
    queryset = AccessRecord.objects.none()  # for the schema only; requests use scoped_queryset()
    filter_backends: list[Any] = []

    def scoped_queryset(self) -> QuerySet[AccessRecord]:
        query = AccessLogQuery(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        return access_log(school=self.school, user_id=data.get("user"), pupil_id=data.get("pupil"),
                          on_or_after=data.get("date_from"), on_or_before=data.get("date_to"))

    @extend_schema(parameters=[AccessLogQuery])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.list(request, *args, **kwargs)
