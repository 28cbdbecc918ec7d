"""What a local authority may ask its evidence pack to hold (its `pack_items`), named once.

The completeness check (`penalties.selectors.pack_missing`) looks for each item the LA lists, and says by
these labels what is missing.
"""
from __future__ import annotations

PACK_ITEMS: dict[str, str] = {
    "parents": "every parent with parental responsibility (names and postal addresses)",
    "certificate": "the register certificate for the local authority's period",
    "signals": "the threshold sessions (the signal)",
    "letters": "the letters sent to the parents (copies)",
    "meetings": "meetings held or offered, with minutes",
    "contacts": "the phone calls and home visits",
    "plan": "an attendance contract or action plan",
    "notice_to_improve": "the notice to improve and its outcome",
    "support": "the support offered and whether it was taken up",
    "context": "the context review (illness, SEND, social care)",
    "authorisation": "the headteacher's authorisation",
    "leave": "the leave request and its refusal (term-time holiday)",
}

DEFAULT_PACK = list(PACK_ITEMS)
