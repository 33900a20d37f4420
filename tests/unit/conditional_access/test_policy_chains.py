"""Per-policy chains decide exactly as each policy's whole condition chain, on random policy sets.

``CompiledPolicySet.evaluate`` follows each policy's ``Chain`` (one memo lookup per condition, the
applied result per controls token) from the decision tree or from the users index;
``evaluate_each`` runs every check and control again. Random policies mix every condition the
engine knows, so a chain memo keyed on too little, or a chain reached from the wrong outcomes,
shows up as a differing decision. The last test shows the comparison does catch a key that
forgets an input.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest

from posturebridge.conditional_access import CompiledPolicySet, compile_policies, evaluate_plain
from posturebridge.conditional_access import evaluate as engine
from tests.unit.conditional_access.test_fast_path import Pools, contexts
from tests.unit.conditional_access.test_signin_cases import (
    AZURE_PORTAL,
    CUSTOM_APP,
    EXO,
    GROUP,
    GROUP2,
    LOC_NL,
    LOC_OFFICE,
    NAMED_LOCATIONS,
    NOW,
    OTHER,
    ROLE,
    SPO,
    STRENGTH_MFA,
    STRENGTH_PHISH,
    TENANT,
    TOU,
    USER,
)

GROUPS = [GROUP, GROUP2, "aaaaaaaa-0000-0000-0000-000000000003", "aaaaaaaa-0000-0000-0000-000000000004"]
DEVICE_RULES = [
    'device.extensionAttribute1 -eq "CONTOSO-IT"',
    "device.isCompliant -eq True",
    'device.operatingSystem -in ["Windows", "iOS"]',
    'device.trustType -ne "ServerAD" -and device.model -startsWith "Sur"',
]


def _some(rng: random.Random, pool: list[str], most: int) -> list[str]:
    return rng.sample(pool, k=rng.randint(0, min(most, len(pool))))


def random_policy(rng: random.Random, number: int) -> dict[str, Any]:
    """One policy from random fragments of every condition and grant control the engine evaluates."""
    users: dict[str, Any] = {
        "includeUsers": rng.choice([["All"], ["All"], [USER], [], ["GuestsOrExternalUsers"], ["None"]]),
        "excludeUsers": rng.choice([[], [], [OTHER], ["GuestsOrExternalUsers"]]),
        "includeGroups": _some(rng, GROUPS, 2),
        "excludeGroups": _some(rng, GROUPS, 1),
        "includeRoles": _some(rng, [ROLE], 1),
        "excludeRoles": [],
    }
    if rng.random() < 0.2:
        users["includeGuestsOrExternalUsers"] = {
            "guestOrExternalUserTypes": rng.choice(["b2bCollaborationGuest,internalGuest", "serviceProvider"]),
            "externalTenants": rng.choice(
                [
                    {"@odata.type": "#microsoft.graph.conditionalAccessAllExternalTenants", "membershipKind": "all"},
                    {
                        "@odata.type": "#microsoft.graph.conditionalAccessEnumeratedExternalTenants",
                        "membershipKind": "enumerated",
                        "members": [TENANT],
                    },
                ]
            ),
        }
    applications: dict[str, Any] = rng.choice(
        [
            {"includeApplications": ["All"], "excludeApplications": rng.choice([[], [SPO], ["Office365"]])},
            {"includeApplications": ["Office365"], "excludeApplications": []},
            {"includeApplications": [EXO, CUSTOM_APP], "excludeApplications": []},
            {"includeApplications": ["MicrosoftAdminPortals", AZURE_PORTAL], "excludeApplications": []},
            {"includeApplications": [], "includeUserActions": ["urn:user:registersecurityinfo"]},
            {"includeApplications": [], "includeAuthenticationContextClassReferences": ["c1", "c2"]},
        ]
    )
    conditions: dict[str, Any] = {
        "users": users,
        "applications": applications,
        "clientAppTypes": rng.choice(
            [["all"], ["all"], ["browser"], ["exchangeActiveSync", "other"], ["browser", "mobileAppsAndDesktopClients"]]
        ),
    }
    if rng.random() < 0.4:
        conditions["platforms"] = {
            "includePlatforms": rng.choice([["all"], ["iOS", "android"], ["windows", "macOS"]]),
            "excludePlatforms": rng.choice([[], ["windows"], ["iOS"]]),
        }
    if rng.random() < 0.4:
        conditions["locations"] = {
            "includeLocations": rng.choice([["All"], [LOC_NL], ["AllTrusted"]]),
            "excludeLocations": rng.choice([[], ["AllTrusted"], [LOC_OFFICE]]),
        }
    if rng.random() < 0.3:
        conditions["devices"] = {
            "deviceFilter": {"mode": rng.choice(["include", "exclude"]), "rule": rng.choice(DEVICE_RULES)}
        }
    for name, levels in (
        ("signInRiskLevels", ["low", "medium", "high"]),
        ("userRiskLevels", ["low", "medium", "high"]),
    ):
        if rng.random() < 0.3:
            conditions[name] = _some(rng, levels, 2) or ["high"]
    if rng.random() < 0.15:
        conditions["insiderRiskLevels"] = rng.choice(["elevated", "minor,moderate,elevated"])
    if rng.random() < 0.15:
        conditions["authenticationFlows"] = {
            "transferMethods": rng.choice(["deviceCodeFlow", "authenticationTransfer"])
        }
    grant: dict[str, Any] = {
        "operator": rng.choice(["AND", "OR"]),
        "builtInControls": _some(
            rng,
            ["mfa", "compliantDevice", "domainJoinedDevice", "approvedApplication", "compliantApplication"],
            2,
        ),
    }
    if rng.random() < 0.1:
        grant["builtInControls"] = ["block"]
    elif rng.random() < 0.2:
        grant["builtInControls"].append(rng.choice(["passwordChange", "riskRemediation"]))
    if rng.random() < 0.2:
        grant["authenticationStrength"] = {"id": rng.choice([STRENGTH_MFA, STRENGTH_PHISH])}
    if rng.random() < 0.1:
        grant["termsOfUse"] = [TOU]
    if not grant["builtInControls"] and "authenticationStrength" not in grant and "termsOfUse" not in grant:
        grant["builtInControls"] = ["mfa"]
    return {
        "id": f"random-{number}",
        "displayName": f"Random policy {number}",
        "state": rng.choice(["enabled", "enabled", "enabledForReportingButNotEnforced", "disabled"]),
        "conditions": conditions,
        "grantControls": grant,
    }


def random_policies(seed: int, count: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [random_policy(rng, number) for number in range(count)]


def _differences(compiled: CompiledPolicySet, policies: list[dict[str, Any]], count: int, seed: int) -> list[int]:
    """Numbers of the sign-ins where the fast path and the whole chains disagree."""
    differing = []
    for number, ctx in enumerate(contexts(Pools(policies), count, seed=seed)):
        now = NOW if number % 4 else NOW + timedelta(days=2)
        if compiled.evaluate(ctx, now) != compiled.evaluate_each(ctx, now):
            differing.append(number)
    return differing


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_chains_decide_as_the_whole_chains_on_random_policy_sets(seed: int) -> None:
    policies = random_policies(seed, 40)
    compiled = compile_policies(policies, NAMED_LOCATIONS)
    assert _differences(compiled, policies, 400, seed=seed) == []


def test_chains_decide_as_the_plain_evaluator_on_a_random_policy_set() -> None:
    policies = random_policies(99, 30)
    compiled = compile_policies(policies, NAMED_LOCATIONS)
    for ctx in contexts(Pools(policies), 40, seed=99):
        compiled.evaluate(ctx, NOW)  # fill the memos first: the answers below come from chains
    for ctx in contexts(Pools(policies), 40, seed=99):
        assert compiled.evaluate(ctx, NOW) == evaluate_plain(policies, ctx, NOW, NAMED_LOCATIONS)


def test_chains_stay_bounded_and_exact_when_emptied_again_and_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiny bounds: each policy's chains are emptied many times mid-run, the tree holding old ones."""
    monkeypatch.setattr(engine, "MAX_MEMO", 4)
    monkeypatch.setattr(engine, "CHAIN_MEMOS", 2)
    policies = random_policies(7, 40)
    compiled = compile_policies(policies, NAMED_LOCATIONS)
    compiled.tree.max_entries = 2_000
    restarts = 0
    before = [0] * len(compiled)
    for number, ctx in enumerate(contexts(Pools(policies), 300, seed=7)):
        now = NOW if number % 4 else NOW + timedelta(days=2)
        assert compiled.evaluate(ctx, now) == compiled.evaluate_each(ctx, now), f"context {number} differs"
        for index, policy in enumerate(compiled.compiled):
            # Every chain holding an entry is known to its policy, so emptying them frees them all.
            assert policy.chain_entries <= 2 * 4
            assert sum(len(chain.next) + len(chain.results) for chain in policy._filled) == policy.chain_entries
            restarts += policy.chain_entries < before[index]
            before[index] = policy.chain_entries
    assert restarts > 50


def test_a_stage_key_that_forgets_an_input_is_caught() -> None:
    """The comparison above can fail: a user-risk key that ignores the risk gives wrong chains."""
    policies = random_policies(3, 40)
    compiled = compile_policies(policies, NAMED_LOCATIONS)
    compiled.keys["userRisk"] = lambda facts: "same for every sign-in"
    assert _differences(compiled, policies, 400, seed=3) != []
