"""The buyers' services, by concern: ``handoff`` (the QR token), ``sessions`` (a phone's session and device),
``journey`` (the steps of 7.1 / 7.2), ``manifest`` (sealing and checking a buyer's evidence)."""

from ecancel.buyers.services.handoff import (
    HandoffResolution,
    HandoffStatus,
    IssuedHandoff,
    TooManyLookups,
    handoff_issue,
    handoff_lookup,
    handoff_miss_rule,
    handoff_resolve,
    handoff_revoke,
    handoff_state,
    handoff_url,
    token_digest,
)

__all__ = [
    "HandoffResolution",
    "HandoffStatus",
    "IssuedHandoff",
    "TooManyLookups",
    "handoff_issue",
    "handoff_lookup",
    "handoff_miss_rule",
    "handoff_resolve",
    "handoff_revoke",
    "handoff_state",
    "handoff_url",
    "token_digest",
]
