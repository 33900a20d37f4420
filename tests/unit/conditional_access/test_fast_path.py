"""The fast path (decision tree, per-policy memos, users index) decides exactly as the plain chain.

``CompiledPolicySet.evaluate`` answers from memos keyed on what each condition reads;
``CompiledPolicySet.evaluate_each`` runs every policy's whole condition chain and controls. They
must return equal decisions (every policy's result, reasons, controls; the error code) for any
sign-in. Contexts come from a seeded generator over small pools, so later sign-ins reuse the memos
built by earlier ones while differing in some other fact: a memo key that forgets an input fails
here.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from posturebridge.conditional_access import (
    CompiledPolicySet,
    DeviceInfo,
    ResourceApplication,
    SatisfiedControls,
    ServicePrincipalIdentity,
    SignInContext,
    UserIdentity,
    compile_policies,
    evaluate_plain,
)
from posturebridge.conditional_access import evaluate as engine
from posturebridge.conditional_access.catalog import APP_GROUPS, MFA_AUTHENTICATION_STRENGTH_ID
from posturebridge.conditional_access.whatif import load_policy_path
from tests.unit.conditional_access.test_signin_cases import ALL_CASES, NAMED_LOCATIONS, NOW

DATA = Path(__file__).resolve().parents[2] / "data" / "ca-policies"


def _values(node: Any, *names: str) -> list[Any]:
    """Every value under a key named like one of ``names`` (any casing), anywhere in ``node``."""
    wanted = {name.casefold() for name in names}
    found: list[Any] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            for key, value in item.items():
                if str(key).casefold() in wanted:
                    found.extend(value if isinstance(value, list) else [value])
                stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _strings(node: Any, *names: str) -> set[str]:
    return {value for value in _values(node, *names) if isinstance(value, str)}


class Pools:
    """Small pools of values, taken from the policies so that conditions really match."""

    def __init__(self, raw: list[dict[str, Any]]) -> None:
        self.users = sorted(_strings(raw, "includeUsers", "excludeUsers") - {"All", "None", "GuestsOrExternalUsers"})
        self.groups = sorted(_strings(raw, "includeGroups", "excludeGroups"))
        self.roles = sorted(_strings(raw, "includeRoles", "excludeRoles"))
        self.apps = sorted(_strings(raw, "includeApplications", "excludeApplications"))
        self.apps += sorted(next(iter(members)) for members in APP_GROUPS.values())
        self.service_principals = sorted(_strings(raw, "includeServicePrincipals", "excludeServicePrincipals"))
        self.tenants = sorted(_strings(raw, "members"))
        strengths = [v for v in _values(raw, "authenticationStrength") if isinstance(v, Mapping)]
        self.strengths = sorted({str(s.get("id") or s.get("Id")) for s in strengths} | {MFA_AUTHENTICATION_STRENGTH_ID})
        self.terms = sorted(_strings(raw, "termsOfUse"))
        self.factors = sorted(_strings(raw, "customAuthenticationFactors"))
        self.extension_values = ["CONTOSO-IT", "SALES", "contoso-it", "", None]


def _pick(rng: random.Random, pool: list[Any], extra: list[Any] | None = None) -> Any:
    choices = list(pool) + (extra or [])
    return rng.choice(choices) if choices else None


def _sample(rng: random.Random, pool: list[str], most: int) -> frozenset[str]:
    return frozenset(rng.sample(pool, k=min(len(pool), rng.randint(0, most)))) if pool else frozenset()


def contexts(pools: Pools, count: int, seed: int) -> Iterator[SignInContext]:
    rng = random.Random(seed)
    for index in range(count):
        user = service_principal = None
        if rng.random() < 0.08:
            service_principal = ServicePrincipalIdentity(
                id=_pick(rng, pools.service_principals, ["sp-unknown"]),
                custom_security_attributes={"Workload_Tier": (rng.choice(["Tier0", "Tier1"]),)},
                owned_by_tenant=rng.random() < 0.7,
            )
        else:
            external = rng.random() < 0.25
            user = UserIdentity(
                id=_pick(rng, pools.users, [f"user-{index}"] * 4),
                group_ids=_sample(rng, pools.groups, 3),
                role_template_ids=_sample(rng, pools.roles, 1) if rng.random() < 0.3 else frozenset(),
                user_type=rng.choice(["guest", "Guest", "member"]) if external else "member",
                guest_or_external_user_type=rng.choice(
                    [
                        None,
                        "none",
                        "b2bCollaborationGuest",
                        "b2bCollaborationMember",
                        "internalGuest",
                        "serviceProvider",
                    ]
                )
                if external
                else rng.choice([None, None, None, "none"]),
                home_tenant_id=_pick(rng, pools.tenants, [None, "tenant-elsewhere"]) if external else None,
            )
        application = None
        if rng.random() < 0.95:
            application = ResourceApplication(
                _pick(rng, pools.apps, ["33333333-3333-3333-3333-333333333333"]),
                custom_security_attributes=rng.choice(
                    [{}, {"Engineering_Project": ("Baker",)}, {"Engineering_Project": ("Cameo", "Baker")}]
                ),
                app_groups=rng.choice([None, None, None, frozenset({"Office365"})]),
            )
        device = None
        if rng.random() < 0.7:
            device = DeviceInfo(
                device_id=f"dev-{rng.randint(0, 5)}",
                is_compliant=rng.choice([True, False, None]),
                trust_type=rng.choice(["AzureAd", "ServerAd", "serverad", "Workplace", None]),
                device_ownership=rng.choice(["Company", "Personal", None]),
                operating_system=rng.choice(["Windows", "iOS", "MacMDM", "Android"]),
                model=rng.choice(["Surface", "iPhone", None]),
                extension_attributes={"extensionAttribute1": rng.choice(pools.extension_values)},
                compliance_expiration_date_time=rng.choice([None, NOW - timedelta(days=1), NOW + timedelta(days=1)]),
            )
        yield SignInContext(
            user=user,
            service_principal=service_principal,
            application=application,
            user_action=rng.choice([None] * 12 + ["urn:user:registersecurityinfo", "urn:user:registerdevice"]),
            authentication_context=rng.choice([(), (), (), (), ("c1",), ("C2", "c3")]),
            client_app_type=rng.choice(
                ["browser", "mobileAppsAndDesktopClients", "exchangeActiveSync", "other", "Browser", "easUnsupported"]
            ),
            device_platform=rng.choice(["windows", "iOS", "ios", "android", "macOS", "linux", "windowsPhone", None]),
            ip_address=rng.choice(["198.51.100.7", "203.0.113.9", "2001:db8::1", "not-an-ip", None]),
            country=rng.choice(["NL", "nl", "BE", "US", None]),
            sign_in_risk=rng.choice(["none", "low", "medium", "high", "High"]),
            user_risk=rng.choice(["none", "low", "high"]),
            service_principal_risk=rng.choice(["none", "high"]),
            insider_risk=rng.choice(["none", "minor", "elevated"]),
            authentication_flow=rng.choice([None, None, None, "deviceCodeFlow", "authenticationTransfer"]),
            device=device,
            satisfied=SatisfiedControls(
                mfa=rng.random() < 0.5,
                authentication_strengths=_sample(rng, pools.strengths, 1),
                terms_of_use=_sample(rng, pools.terms, 1),
                custom_authentication_factors=_sample(rng, pools.factors, 1),
                approved_application=rng.random() < 0.3,
                compliant_application=rng.random() < 0.3,
                password_changed=rng.random() < 0.2,
                risk_remediated=rng.random() < 0.2,
            ),
        )


def _real_exports(*, disabled_as_report_only: bool) -> tuple[list[dict[str, Any]], list[Any]]:
    source = load_policy_path(DATA)
    policies = []
    for index, item in enumerate(source.raw):
        policy = copy.deepcopy(dict(item))
        state_key = "State" if "State" in policy else "state"
        if disabled_as_report_only and str(policy.get(state_key, "")).lower() == "disabled":
            policy[state_key] = "enabledForReportingButNotEnforced"
        policy["Id" if "Id" in policy else "id"] = f"policy-{index}"
        policies.append(policy)
    return policies, list(source.named_locations) + list(NAMED_LOCATIONS)


def _assert_same(compiled: CompiledPolicySet, items: Iterator[SignInContext]) -> int:
    checked = 0
    for number, ctx in enumerate(items):
        now = NOW if number % 3 else NOW + timedelta(days=2)
        fast = compiled.evaluate(ctx, now)
        straight = compiled.evaluate_each(ctx, now)
        assert fast == straight, f"context {number} differs: {ctx}"
        checked += 1
    return checked


@pytest.mark.parametrize("disabled_as_report_only", [False, True])
def test_fast_path_matches_straight_evaluation_on_the_real_exports(disabled_as_report_only: bool) -> None:
    policies, locations = _real_exports(disabled_as_report_only=disabled_as_report_only)
    compiled = compile_policies(policies, locations)
    pools = Pools(policies)
    assert _assert_same(compiled, contexts(pools, 600, seed=20250601)) == 600


@pytest.mark.parametrize("without_filters", [False, True])
def test_fast_path_matches_straight_evaluation_on_every_table_case_policy(without_filters: bool) -> None:
    """The hand-written policies of the sign-in cases in one set, against all their contexts.

    Without filters too: the device and application stage keys carry the attributes filters name,
    which must not be what makes the other inputs count.
    """
    cases = [
        case for case in ALL_CASES if not (without_filters and _values(case[1], "deviceFilter", "applicationFilter"))
    ]
    policies = [
        {**copy.deepcopy(raw), "id": f"case-{n}", "displayName": name} for n, (name, raw, *_) in enumerate(cases)
    ]
    compiled = compile_policies(policies, NAMED_LOCATIONS)
    case_contexts = [ctx for _, _, ctx, _, _ in cases]
    assert _assert_same(compiled, iter(case_contexts * 2)) == 2 * len(case_contexts)
    assert _assert_same(compiled, contexts(Pools(policies), 300, seed=7)) == 300


def test_fast_path_stays_exact_when_its_memos_are_dropped_and_rebuilt(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiny bounds: the tree and every memo are cleared again and again mid-run."""
    monkeypatch.setattr(engine, "MAX_MEMO", 3)
    policies, locations = _real_exports(disabled_as_report_only=True)
    compiled = compile_policies(policies, locations)
    compiled.tree.max_entries = 500
    pools = Pools(policies)
    assert _assert_same(compiled, contexts(pools, 200, seed=11)) == 200
    # Bounded: the tree restarts once past its size (one walk adds at most a few nodes of at most
    # two slots per policy), each per-policy memo once past MAX_MEMO.
    assert compiled.tree.entries <= 500 + 12 * 2 * len(compiled)
    for policy in compiled.compiled:
        assert len(policy.applied) <= 3
        assert all(len(memo) <= 3 for memo in policy.outcomes)


def test_plain_evaluator_agrees_with_the_compiled_set() -> None:
    policies, _ = _real_exports(disabled_as_report_only=False)
    compiled = compile_policies(policies, NAMED_LOCATIONS)
    for ctx in contexts(Pools(policies), 20, seed=3):
        assert evaluate_plain(policies, ctx, NOW, NAMED_LOCATIONS) == compiled.evaluate(ctx, NOW)
