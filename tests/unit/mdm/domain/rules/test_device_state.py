from __future__ import annotations

import datetime as dt

import pytest

from posturebridge.mdm.domain import Platform, RuleOutcome

from ..factories import DAY, HOUR, NOW
from .cases import RuleCase, assert_case, run

P, F, E = RuleOutcome.PASSED, RuleOutcome.FAILED, RuleOutcome.ERROR
LAST_SEEN = {"type": "deviceLastSeen", "maximumHours": 24}
MODELS = {"type": "deviceModelAllowList", "models": ["pixel 8", "Pixel 8 Pro"]}
PATCH = {"type": "securityPatchAge", "maximumDays": 90}
STORAGE = {"type": "minimumFreeStorage", "minimumMegabytes": 4096}

CASES = [
    RuleCase("last_seen_recently", Platform.IOS, LAST_SEEN, P, "within 24 hours"),
    RuleCase(
        "last_seen_too_long_ago",
        Platform.IOS,
        LAST_SEEN,
        F,
        "more than 24 hours ago",
        device={"last_seen_at": NOW - 25 * HOUR},
    ),
    RuleCase(
        "last_seen_exactly_at_the_limit_fails",
        Platform.IOS,
        LAST_SEEN,
        F,
        "more than 24 hours",
        device={"last_seen_at": NOW - 24 * HOUR},
    ),
    RuleCase(
        "last_seen_never_counts_from_enrolment",
        Platform.IOS,
        LAST_SEEN,
        F,
        "last seen 2024-04-02T12:00:00Z",
        device={"last_seen_at": None},
    ),
    RuleCase("model_allowed_case_insensitive", Platform.ANDROID, MODELS, P, "model Pixel 8 is allowed"),
    RuleCase(
        "model_not_allowed",
        Platform.ANDROID,
        MODELS,
        F,
        "Galaxy S24 is not on the allowed list",
        device={"model": "Galaxy S24"},
    ),
    RuleCase("model_unknown", Platform.ANDROID, MODELS, E, "model", device={"model": ""}),
    RuleCase("patch_recent", Platform.ANDROID, PATCH, P, "10 days old"),
    RuleCase(
        "patch_at_the_limit_passes",
        Platform.ANDROID,
        PATCH,
        P,
        "90 days old",
        sample={"security_patch_date": (NOW - 90 * DAY).date()},
    ),
    RuleCase(
        "patch_too_old",
        Platform.ANDROID,
        PATCH,
        F,
        "91 days old, more than 90",
        sample={"security_patch_date": (NOW - 91 * DAY).date()},
    ),
    RuleCase(
        "patch_not_reported",
        Platform.ANDROID,
        PATCH,
        E,
        "securityPatchDate",
        sample={"security_patch_date": None},
    ),
    RuleCase("free_storage_enough", Platform.WINDOWS, STORAGE, P, "20000 MB free"),
    RuleCase(
        "free_storage_too_little",
        Platform.IOS,
        STORAGE,
        F,
        "only 1000 MB free",
        sample={"free_storage_megabytes": 1000},
    ),
    RuleCase(
        "free_storage_not_reported",
        Platform.IOS,
        STORAGE,
        E,
        "freeStorageMegabytes",
        sample={"free_storage_megabytes": None},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_device_state_rules_decide_as_specified(case: RuleCase) -> None:
    assert_case(case)


def test_last_seen_rule_says_when_it_will_start_failing() -> None:
    check = run(RuleCase("x", Platform.IOS, LAST_SEEN, P, ""))
    assert check.changes_at == NOW - HOUR + 24 * HOUR


def test_patch_age_rule_starts_failing_at_midnight_utc_after_the_last_allowed_day() -> None:
    patch_date = dt.date(2024, 5, 1)
    check = run(RuleCase("x", Platform.ANDROID, PATCH, P, "", sample={"security_patch_date": patch_date}))
    assert check.changes_at == dt.datetime(2024, 7, 31, tzinfo=dt.UTC)
