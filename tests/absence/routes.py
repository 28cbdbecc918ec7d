"""Every absence and parent-portal route, with objects built in the school under test."""

from __future__ import annotations

from tests import factories as f
from tests.routes import Route

from .factories import AbsenceReportFactory, LeaveRequestFactory, MedicalEvidenceRequestFactory, family


def _pupil(school):
    return {"pupil_id": f.EnrolmentFactory(pupil__school=school).pupil.pk}


def _report(school):
    return {"report_id": AbsenceReportFactory(pupil__school=school).pk}


def _leave(school):
    return {"request_id": LeaveRequestFactory(pupil__school=school).pk}


def _child(school):
    return {"pupil_id": family(school)[0].pk}


def _child_report(school):
    pupil = family(school)[0]
    return {"report_id": AbsenceReportFactory(pupil=pupil).pk}


def _child_leave(school):
    pupil = family(school)[0]
    return {"request_id": LeaveRequestFactory(pupil=pupil).pk}


ROUTES: list[Route] = [
    Route("absence:today"),
    Route("absence:notify_unexplained", method="post"),
    Route("absence:pupil", make=_pupil),
    Route("absence:contact_add", method="post", make=_pupil,
          data=lambda s: {"method": "call", "outcome": "no_answer"}),
    Route("absence:resolve", method="post", make=_pupil,
          data=lambda s: {"keys": "2025-09-08:AM", "code": "I", "reason": "Mother phoned"}),
    Route("absence:aged"),
    Route("absence:reports"),
    Route("absence:report_accept", method="post", make=_report),
    Route("absence:report_reject", method="post", make=_report, data=lambda s: {"reason": "Not this child"}),
    Route("absence:leave"),
    Route("absence:leave_detail", make=_leave),
    Route("absence:leave_evidence", make=_leave),
    Route("absence:leave_grant", method="post", make=_leave, data=lambda s: {"grant-circumstance": "exceptional"}),
    Route("absence:leave_refuse", method="post", make=_leave, data=lambda s: {"refuse-reason": "Not exceptional"}),
    Route("absence:leave_taken", method="post", make=_leave),
    Route("absence:medical"),
    Route("absence:medical_record", method="post",
          make=lambda s: {"evidence_id": MedicalEvidenceRequestFactory(pupil__school=s).pk},
          data=lambda s: {"received": "yes"}),
    Route("absence:parents"),
    Route("absence:invite", method="post",
          make=lambda s: {"guardian_id": f.GuardianFactory(school=s).pk}),
    # Parent portal: another family's child (and their reports and requests) is a 404.
    Route("parent:child", kind="parent", make=_child),
    Route("parent:report", kind="public", reason="form lists only the parent's own children; a posted id of "
                                                 "another child is a form error (test_parent_portal.py)"),
    Route("parent:report_detail", kind="parent", make=_child_report),
    Route("parent:leave", kind="public", reason="form lists only the parent's own children; a posted id of "
                                                "another child is a form error (test_parent_portal.py)"),
    Route("parent:leave_detail", kind="parent", make=_child_leave),
    # API
    Route("api:absence-report-list", api=True),
    Route("api:absence-report-detail", api=True, make=lambda s: {"pk": AbsenceReportFactory(pupil__school=s).pk}),
    Route("api:leave-request-list", api=True),
    Route("api:leave-request-detail", api=True, make=lambda s: {"pk": LeaveRequestFactory(pupil__school=s).pk}),
    Route("api:contact-attempt-list", api=True),
    Route("api:aged-n-code-list", api=True),
]
