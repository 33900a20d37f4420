from __future__ import annotations

import pytest

from posturebridge.mdm.domain import Platform, RuleOutcome

from .cases import RuleCase, assert_case

P, F, E = RuleOutcome.PASSED, RuleOutcome.FAILED, RuleOutcome.ERROR
BLOCKLIST = {"type": "restrictedApps", "apps": ["com.example.torrent", "com.example.cheat"]}
REQUIRED = {"type": "requiredApps", "apps": ["com.example.vpn", "com.example.edr"]}

CASES = [
    RuleCase("blocklist_clean", Platform.IOS, BLOCKLIST, P, "no blocked app is installed"),
    RuleCase(
        "blocklist_hit_names_the_app",
        Platform.ANDROID,
        BLOCKLIST,
        F,
        "blocked apps are installed: com.example.torrent",
        sample={"installed_apps": frozenset({"com.example.torrent", "com.example.mail"})},
    ),
    RuleCase(
        "blocklist_inventory_not_collected",
        Platform.IOS,
        BLOCKLIST,
        E,
        "installedApps",
        sample={"installed_apps": None},
    ),
    RuleCase(
        "required_all_present",
        Platform.WINDOWS,
        REQUIRED,
        P,
        "every required app is installed",
        sample={"installed_apps": frozenset({"com.example.vpn", "com.example.edr", "x"})},
    ),
    RuleCase(
        "required_missing_names_the_app",
        Platform.MACOS,
        REQUIRED,
        F,
        "required apps are missing: com.example.edr",
    ),
    RuleCase(
        "required_inventory_not_collected",
        Platform.MACOS,
        REQUIRED,
        E,
        "installedApps",
        sample={"installed_apps": None},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_app_list_rules_block_and_require_apps(case: RuleCase) -> None:
    assert_case(case)
