"""Every penalty-notice route: the school's pages (kind "school") and the local authority's workspace
(kind "la": tests/penalties/test_la_workspace.py sends other LAs' officers and school staff to each)."""

from __future__ import annotations

from django_scopes import scopes_disabled

from penalties.models import LocalAuthority
from tests.interventions.factories import make_case
from tests.routes import Route

from .factories import make_built_pack, make_consideration, make_notice, make_referral


def _case(school):
    return {"case_id": make_case(school).pk}


def _referral(status):
    return lambda school: {"referral_id": make_referral(school, status).pk}


def _built_pack(school):
    pack = make_built_pack(school)
    return {"referral_id": pack.referral_id, "pack_id": pack.pk, "kind": "pdf"}


def _issue_data(school):
    with scopes_disabled():  # the walks ask for the data outside the objects' scope
        referral = make_referral(school, "accepted")
    return {"referral": referral.pk, "parent": referral.parents[0]["guardian_id"], "issued_on": "2025-01-06"}


def _la_nti(school):
    """A decision on a notice to improve at a school whose LA gives notices to improve itself."""
    consideration = make_consideration(school, "notice_to_improve")
    LocalAuthority.objects.filter(pk=consideration.local_authority_id).update(nti_issued_by="la")
    return {"consideration_id": consideration.pk}


CONSIDERED = {"decision": "support_first", "support": "not_yet", "other_step_better": "x", "equality": "y",
              "reasons": "z"}

ROUTES: list[Route] = [
    Route("penalties:case", make=_case),
    Route("penalties:consider", method="post", make=_case, data=lambda s: CONSIDERED),
    Route("penalties:refer", method="post", make=_case),
    Route("penalties:notice_to_improve", method="post",
          make=lambda s: {"consideration_id": make_consideration(s, "notice_to_improve").pk}),
    Route("penalties:authorise", method="post", make=_referral("draft")),
    Route("penalties:submit", method="post", make=_referral("authorised"), data=lambda s: {"incomplete_reason": "x"}),
    Route("penalties:delegate", method="post", data=lambda s: {"user": 1, "position": "Deputy headteacher"}),
    # The local authority's workspace.
    Route("la:inbox", kind="la"),
    Route("la:referral", kind="la", make=_referral("submitted")),
    Route("la:accept", kind="la", method="post", make=_referral("submitted")),
    Route("la:return", kind="la", method="post", make=_referral("submitted"), data=lambda s: {"missing": "x"}),
    Route("la:decline", kind="la", method="post", make=_referral("submitted"), data=lambda s: {"reason": "x"}),
    Route("la:issue", kind="la", method="post", make=_referral("accepted"),
          data=lambda s: {"guardian_id": 1, "number": "X-1", "issued_on": "2025-01-06"}),
    Route("la_api:notice-issue", kind="la", method="post", api=True,
          data=lambda s: _issue_data(s)),
    Route("la_api:notice-payment", kind="la", method="post", api=True,
          make=lambda s: {"pk": make_notice(s).pk}, data=lambda s: {"paid_on": "2025-01-06", "amount_pence": 8000}),
    Route("la_api:notice-withdrawal", kind="la", method="post", api=True,
          make=lambda s: {"pk": make_notice(s).pk}, data=lambda s: {"reason": "x"}),
    Route("la:pack_file", kind="la", make=lambda s: _built_pack(s)),
    Route("la_api:notice-to-improve-issue", kind="la", method="post", api=True,
          data=lambda s: {"consideration": _la_nti(s)["consideration_id"], "weeks": 6}),
    Route("la:consideration", kind="la", make=_la_nti),
    Route("la:notice_to_improve", kind="la", method="post", make=_la_nti, data=lambda s: {"weeks": "6"}),
    Route("la:pay", kind="la", method="post", make=lambda s: {"notice_id": make_notice(s).pk},
          data=lambda s: {"paid_on": "2025-01-06", "amount": "80"}),
    Route("la:withdraw", kind="la", method="post", make=lambda s: {"notice_id": make_notice(s).pk},
          data=lambda s: {"reason": "x"}),
    Route("la:prosecute", kind="la", method="post", make=lambda s: {"notice_id": make_notice(s).pk},
          data=lambda s: {"prosecuted_on": "2025-01-06"}),
]
