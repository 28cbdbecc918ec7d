"""The local authority's API: issue penalty notices on accepted referrals, record payments and withdrawals.

`/api/v1/la/<la_code>/...`: the caller must be an officer of that LA (anyone else gets 404, like an LA that
does not exist); the referral must be one made to it by a school of its area, the notice one of its own.
The rules are the services' (`penalties.services`): a refusal is a 400 whose `detail` says which rule.
"""
from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http.response import HttpResponseBase
from django_scopes import scope
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from attendance_portal.api import SignedInAPIRequest

from . import services
from .case_selectors import la_nti_considerations, la_referral_get
from .models import Consideration, LAOfficer, LocalAuthority, NoticeToImprove, PenaltyNotice, Referral
from .workspace import referring_school_ids


class LAAPIView(APIView):
    """Base of every LA API view: finds the LA, checks the caller is its officer, opens the referring schools'
    scope (the same as `penalties.workspace` does for its pages)."""

    api_school_scoped = True  # the web middleware leaves API views to their own base class
    la: LocalAuthority

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> HttpResponseBase:
        self.la_or_none = LocalAuthority.objects.filter(code=kwargs.get("la_code")).first()
        ids = referring_school_ids(self.la_or_none) if self.la_or_none is not None else []
        with scope(school=ids):
            return super().dispatch(request, *args, **kwargs)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        la = self.la_or_none
        if la is None or not LAOfficer.objects.filter(local_authority=la, user_id=request.user.pk).exists():  # type: ignore[misc]  # IsAuthenticated ran: pk is set
            raise exceptions.NotFound("No such local authority.")
        self.la = la

    def refused(self, error: ValidationError) -> Response:
        return Response({"detail": " ".join(error.messages)}, status=status.HTTP_400_BAD_REQUEST)

    def notice(self, pk: int) -> PenaltyNotice:
        found = PenaltyNotice.objects.filter(local_authority=self.la.name, pk=pk).first()
        if found is None:
            raise exceptions.NotFound("No such notice.")
        return found


class NoticeOut(serializers.ModelSerializer):
    lower_amount = serializers.SerializerMethodField(help_text="Due if paid by lower_due_on (first notices only).")
    full_amount = serializers.SerializerMethodField(help_text="Due if paid by full_due_on.")
    status = serializers.CharField(read_only=True)

    class Meta:
        model = PenaltyNotice
        fields = ["id", "number", "referral", "parent_name", "child_upn", "issued_on", "ordinal", "lower_pence",
                  "lower_amount", "lower_due_on", "full_pence", "full_amount", "full_due_on", "status", "paid_on",
                  "paid_pence", "withdrawn_on", "withdrawal_reason"]
        read_only_fields = fields

    def get_lower_amount(self, notice: PenaltyNotice) -> str:
        return notice.framework.pounds(notice.lower_pence)

    def get_full_amount(self, notice: PenaltyNotice) -> str:
        return notice.framework.pounds(notice.full_pence)


class NoticeIn(serializers.Serializer):
    referral = serializers.IntegerField(help_text="An accepted referral made to this local authority.")
    parent = serializers.IntegerField(help_text="The guardian id of a parent named in the referral.")  # type: ignore[assignment]  # a declared field: DRF's metaclass takes it off the class
    issued_on = serializers.DateField()
    number = serializers.CharField(max_length=40, required=False,
                                   help_text="The notice's number; by default the LA's code, the referral and parent.")


class PaymentIn(serializers.Serializer):
    paid_on = serializers.DateField()
    amount_pence = serializers.IntegerField(min_value=1)


class WithdrawalIn(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)
    withdrawn_on = serializers.DateField(required=False)


class Refusal(serializers.Serializer):
    detail = serializers.CharField(help_text="Which rule refused it, in words (for example the 2-in-3-years rule).")


class NoticeIssue(LAAPIView):
    @extend_schema(request=NoticeIn, responses={201: NoticeOut, 400: Refusal, 404: Refusal},
                   summary="Issue a penalty notice on an accepted referral",
                   description="Priced from the framework in force on the issue date; refused with a 400 naming "
                               "the 2-in-3-years rule when the parent already has two notices for the child.")
    def post(self, request: SignedInAPIRequest, la_code: str) -> Response:
        data = NoticeIn(data=request.data)
        data.is_valid(raise_exception=True)
        given = data.validated_data
        try:
            referral = la_referral_get(la=self.la, referral_id=given["referral"])
        except Referral.DoesNotExist as error:
            raise exceptions.NotFound("No such referral.") from error
        number = given.get("number") or f"{self.la.code.upper()}-{referral.pk}-{given['parent']}-" \
                                        f"{given['issued_on']:%Y%m%d}"
        try:
            with transaction.atomic():
                notice = services.referral_notice_issue(referral=referral, guardian_id=given["parent"],
                                                        number=number, issued_on=given["issued_on"], by=request.user)
        except ValidationError as error:
            return self.refused(error)
        return Response(NoticeOut(notice).data, status=status.HTTP_201_CREATED)


def _notice_change(view: LAAPIView, request: SignedInAPIRequest, pk: int, given: serializers.Serializer,
                   change: Any) -> Response:
    """Validate, change one of the LA's notices through its service, close the case once all are settled."""
    given.is_valid(raise_exception=True)
    notice = view.notice(pk)
    try:
        with transaction.atomic():
            changed = change(notice, given.validated_data)
            services.referral_case_settle(notice=changed, by=request.user)
    except ValidationError as error:
        return view.refused(error)
    return Response(NoticeOut(changed).data)


class NoticePayment(LAAPIView):
    @extend_schema(request=PaymentIn, responses={200: NoticeOut, 400: Refusal, 404: Refusal},
                   summary="Record a payment of a notice (the amount due on the day paid)")
    def post(self, request: SignedInAPIRequest, la_code: str, pk: int) -> Response:
        return _notice_change(self, request, pk, PaymentIn(data=request.data), lambda notice, data:
                              services.penalty_notice_pay(notice=notice, paid_on=data["paid_on"],
                                                          amount_pence=data["amount_pence"], by=request.user))


class NoticeWithdrawal(LAAPIView):
    @extend_schema(request=WithdrawalIn, responses={200: NoticeOut, 400: Refusal, 404: Refusal},
                   summary="Withdraw an unpaid notice, with the reason")
    def post(self, request: SignedInAPIRequest, la_code: str, pk: int) -> Response:
        return _notice_change(self, request, pk, WithdrawalIn(data=request.data), lambda notice, data:
                              services.penalty_notice_withdraw(notice=notice, reason=data["reason"],
                                                               withdrawn_on=data.get("withdrawn_on"), by=request.user))


class NoticeToImproveIn(serializers.Serializer):
    consideration = serializers.IntegerField(
        help_text="A school's decision to give a notice to improve, addressed to this local authority.")
    weeks = serializers.IntegerField(min_value=1, max_value=52, required=False,
                                     help_text="The improvement period in school weeks (the LA's own by default).")
    allowed_sessions = serializers.IntegerField(
        min_value=0, max_value=50, required=False,
        help_text="Sufficient improvement: at most this many unauthorised sessions in the period.")


class NoticeToImproveOut(serializers.ModelSerializer):
    class Meta:
        model = NoticeToImprove
        fields = ["id", "consideration", "issued_on", "weeks", "ends_on", "allowed_sessions", "status", "issuer",
                  "letter_ids"]
        read_only_fields = fields


class NoticeToImproveIssue(LAAPIView):
    @extend_schema(request=NoticeToImproveIn, responses={201: NoticeToImproveOut, 400: Refusal, 404: Refusal},
                   summary="Give a notice to improve on a school's decision (where the local authority gives them)",
                   description="The same rules as the school's own: a letter to each parent with parental "
                               "responsibility, a period inside the framework's bounds and the LA's settings.")
    def post(self, request: SignedInAPIRequest, la_code: str) -> Response:
        data = NoticeToImproveIn(data=request.data)
        data.is_valid(raise_exception=True)
        given = data.validated_data
        try:
            found = la_nti_considerations(la=self.la).get(pk=given["consideration"])
        except Consideration.DoesNotExist as error:
            raise exceptions.NotFound("No such decision.") from error
        try:
            with transaction.atomic():
                nti = services.notice_to_improve_issue(
                    consideration=found, by=request.user, for_la=self.la, weeks=given.get("weeks"),
                    allowed_sessions=given.get("allowed_sessions"))
        except (ValidationError, PermissionDenied) as error:
            return self.refused(error if isinstance(error, ValidationError) else ValidationError(str(error)))
        return Response(NoticeToImproveOut(nti).data, status=status.HTTP_201_CREATED)
