"""Input and output shapes for the registers API. No logic: views call `registers.marking`."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from registers.models import Enrolment, Mark, Pupil, RegistrationGroup
from registers.services import MAX_MINUTES_LATE, MAX_NOTE


class PupilSerializer(serializers.ModelSerializer):
    registration_group: serializers.PrimaryKeyRelatedField[RegistrationGroup] = serializers.PrimaryKeyRelatedField(
        read_only=True)

    class Meta:
        model = Pupil
        fields = ["id", "upn", "forename", "surname", "date_of_birth", "year_group", "registration_group"]


class PupilSensitiveSerializer(PupilSerializer):
    """Cohort characteristics, only for roles with "view_sensitive"."""

    class Meta(PupilSerializer.Meta):
        fields = [*PupilSerializer.Meta.fields, "sen", "fsm", "eal", "looked_after", "child_in_need",
                  "has_social_worker"]


class EnrolmentSerializer(serializers.ModelSerializer):
    pupil: serializers.PrimaryKeyRelatedField[Pupil] = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = Enrolment
        fields = ["id", "pupil", "admission_date", "leaving_date", "deletion_ground", "registration_type"]


class GroupTeacherSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    name = serializers.CharField(source="display_name")


class RegistrationGroupSerializer(serializers.ModelSerializer):
    teachers = serializers.SerializerMethodField(help_text="The staff who take this group's register.")

    class Meta:
        model = RegistrationGroup
        fields = ["id", "name", "year_group", "teachers"]

    @extend_schema_field(GroupTeacherSerializer(many=True))
    def get_teachers(self, group: RegistrationGroup) -> list[dict[str, object]]:
        people = self.context["group_teachers"].get(group.pk, [])  # read once for the page by the view
        return GroupTeacherSerializer(people, many=True).data  # type: ignore[return-value]  # a ReturnList


class RegisterStatusSerializer(serializers.Serializer):
    group = serializers.IntegerField(source="group.pk")
    group_name = serializers.CharField(source="group.name")
    session = serializers.CharField()
    status = serializers.CharField(source="state", help_text="closed, empty, not_started, in_progress or complete")
    enrolled = serializers.IntegerField()
    marked = serializers.IntegerField()
    opens = serializers.TimeField(allow_null=True)
    overdue = serializers.BooleanField()
    last_marked_by = serializers.CharField()
    closed_reason = serializers.CharField()


class RegisterRowSerializer(serializers.Serializer):
    pupil = serializers.IntegerField(source="pupil.pk")
    forename = serializers.CharField(source="pupil.forename")
    surname = serializers.CharField(source="pupil.surname")
    code = serializers.CharField(source="mark.code", allow_null=True, default=None)
    minutes_late = serializers.IntegerField(source="mark.minutes_late", allow_null=True, default=None)
    note = serializers.CharField(source="mark.note", default="")
    version = serializers.IntegerField(source="mark.version", allow_null=True, default=None)


class RegisterSerializer(serializers.Serializer):
    group = serializers.IntegerField(source="group.pk")
    date = serializers.DateField(source="day")
    session = serializers.CharField()
    complete = serializers.BooleanField()
    closed_reason = serializers.CharField()
    rows = RegisterRowSerializer(many=True)


class MarkInputSerializer(serializers.Serializer):
    pupil = serializers.IntegerField(min_value=1)
    code = serializers.CharField(max_length=2)
    minutes_late = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=MAX_MINUTES_LATE)
    note = serializers.CharField(required=False, allow_blank=True, max_length=MAX_NOTE, default="")
    version = serializers.IntegerField(
        required=False, allow_null=True, min_value=1,
        help_text="The mark's version you based this on; null or absent if you saw no mark.",
    )


class RegisterWriteSerializer(serializers.Serializer):
    marks = MarkInputSerializer(many=True, allow_empty=False)
    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=200, default="",
        help_text="Required when any saved code or minutes late changes.",
    )


class ConflictSerializer(serializers.Serializer):
    pupil = serializers.IntegerField()
    submitted_code = serializers.CharField()
    current_code = serializers.CharField(allow_null=True)
    current_minutes_late = serializers.IntegerField(allow_null=True)
    current_version = serializers.IntegerField(allow_null=True)


class RegisterWriteResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    amended = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    skipped = serializers.IntegerField(help_text="Rows changed by someone else and sent back unchanged: left alone.")
    conflicts = ConflictSerializer(many=True)


class RowErrorSerializer(serializers.Serializer):
    pupil = serializers.IntegerField()
    message = serializers.CharField()


class RegisterErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    errors = RowErrorSerializer(many=True)  # type: ignore[assignment]  # a declared field: DRF's metaclass takes it off the class


class MarkSerializer(serializers.ModelSerializer):
    pupil: serializers.PrimaryKeyRelatedField[Pupil] = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = Mark
        fields = ["id", "pupil", "date", "session", "code", "minutes_late", "note", "version", "updated_at"]


class AmendmentSerializer(serializers.Serializer):
    """One entry of the append-only history: a mark as first recorded, or a later change to it."""

    event_id = serializers.IntegerField()
    label = serializers.CharField(help_text="recorded or amended")  # type: ignore[assignment]  # a declared field: DRF's metaclass takes it off the class
    at = serializers.DateTimeField()
    pupil = serializers.IntegerField()
    date = serializers.DateField()
    session = serializers.CharField()
    original = serializers.CharField(
        allow_null=True, help_text="The code this entry replaced; null when first recorded.")
    original_minutes_late = serializers.IntegerField(allow_null=True)
    new = serializers.CharField()
    minutes_late = serializers.IntegerField(allow_null=True)
    note = serializers.CharField()
    version = serializers.IntegerField()
    reason = serializers.CharField()
    name = serializers.CharField()
    position = serializers.CharField()
    source = serializers.CharField()  # type: ignore[assignment]  # a declared field: DRF's metaclass takes it off the class
