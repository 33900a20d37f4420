"""The channels' wire shapes and how they read answers, over httpx.MockTransport replaying documented
responses (graph-facts.md §8-9; partner-compliance-wire.md §1-5)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from posturebridge.mdm.client import MdmClient
from posturebridge.partner.channels.intune import INTUNE_APP_ID, IntuneChannel, IntuneSetup
from posturebridge.partner.channels.windows import WindowsChannel
from posturebridge.partner.graph_client import GraphClient
from posturebridge.partner.queue import Claimed, DeviceState
from tests.unit.partner.conftest import T0

GRAPH = "https://graph.example"
TENANT = "11111111-2222-3333-4444-555555555555"
Handler = Callable[[httpx.Request], httpx.Response]


class StaticTokens:
    def __init__(self) -> None:
        self.scopes: list[str] = []

    def token(self, scope: str) -> str:
        self.scopes.append(scope)
        return f"token-for-{scope}"


def graph(handler: Handler, tokens: StaticTokens | None = None) -> GraphClient:
    http = httpx.Client(transport=httpx.MockTransport(handler))
    return GraphClient(GRAPH, tokens or StaticTokens(), http, clock=lambda: T0, sleep=lambda _s: None)


def item(number: int, platform: str = "windows", compliant: bool = True, user: str | None = None) -> Claimed:
    snapshot = {
        "id": f"mdm-{number}",
        "platform": platform,
        "enrollmentStatus": "enrolled",
        "entraDeviceId": f"00000000-0000-0000-0000-{number:012d}",
        "isCompliant": compliant,
        "complianceState": "compliant",
        "userId": user,
        "osVersion": "17.4",
        "model": "iPhone15,2",
    }
    return Claimed(f"mdm-{number}", "x", number, DeviceState.from_snapshot(snapshot), 0, False)


def test_windows_devices_go_in_one_batch_of_patches_by_device_id() -> None:
    seen: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1.0/$batch"
        body = json.loads(request.content)
        seen.append(body)
        responses = [{"id": r["id"], "status": 204, "headers": {}, "body": None} for r in body["requests"]]
        return httpx.Response(200, json={"responses": list(reversed(responses))})

    deliveries = WindowsChannel(graph(handler)).deliver([item(1), item(2, compliant=False)])
    requests = seen[0]["requests"]
    assert [r["url"] for r in requests] == [
        "/devices(deviceId='00000000-0000-0000-0000-000000000001')",
        "/devices(deviceId='00000000-0000-0000-0000-000000000002')",
    ]
    assert requests[1]["body"] == {"isManaged": True, "isCompliant": False}
    assert requests[1]["headers"] == {"Content-Type": "application/json"}
    assert all(d.ok for d in deliveries)
    assert [d.calls[0].request_summary.split(" ")[0] for d in deliveries] == ["PATCH", "PATCH"]
    assert "in $batch (2 of 2)" in deliveries[1].calls[0].request_summary


def test_an_item_throttled_inside_a_batch_carries_its_own_retry_after() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        first, second = body["requests"]
        throttled = {
            "id": second["id"],
            "status": 429,
            "headers": {"Retry-After": "5"},
            "body": {"error": {"code": "TooManyRequests", "message": "Too many requests."}},
        }
        return httpx.Response(200, json={"responses": [{"id": first["id"], "status": 204}, throttled]})

    ok, throttled = WindowsChannel(graph(handler)).deliver([item(1), item(2)])
    assert ok.ok and not throttled.ok
    assert (throttled.status, throttled.retry_after, throttled.throttled_channel) == (429, "5", False)
    assert throttled.error == "TooManyRequests: Too many requests."


def test_a_throttled_batch_holds_the_whole_channel() -> None:
    def handler(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "2"}, json={"error": {"code": "TooManyRequests"}})

    deliveries = WindowsChannel(graph(handler)).deliver([item(1), item(2)])
    assert all(d.status == 429 and d.retry_after == "2" and d.throttled_channel for d in deliveries)


def test_a_timeout_is_an_answer_with_status_zero() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    [delivery] = WindowsChannel(graph(handler)).deliver([item(1)])
    assert delivery.status == 0 and "ReadTimeout" in (delivery.error or "")


class FakeIntune:
    """Replays the documented Intune answers and keeps what the partner sent."""

    def __init__(self, *, policy_exists: bool = False, final_status: str = "Completed") -> None:
        self.policy_exists = policy_exists
        self.final_status = final_status
        self.calls: list[tuple[str, str, Any]] = []
        self.polls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        url = str(request.url)
        self.calls.append((request.method, url, body))
        path = request.url.path
        if path == "/v1.0/servicePrincipals":
            assert request.url.params["$filter"] == f"appId eq '{INTUNE_APP_ID}'"
            return httpx.Response(200, json={"value": [{"id": "sp-intune"}]})
        if path == "/v1.0/servicePrincipals/sp-intune/endPoints":
            return httpx.Response(
                200,
                json={
                    "value": [
                        {"providerName": "PartnerTenantDataSyncService", "uri": "https://intune.example/tds"},
                        {"providerName": "PartnerDeviceDataSyncService", "uri": "https://intune.example/dds"},
                    ]
                },
            )
        if path.startswith("/v1.0/groups"):
            return httpx.Response(200, json={"value": [{"id": "group-1"}]})
        if path.startswith("/v1.0/users/"):
            return httpx.Response(200, json={"id": "entra-user-1"})
        if path == f"/tds/PartnerTenants(guid'{TENANT}')":
            return httpx.Response(200, json={"Key": "k", "ContextId": TENANT, "Provisioned": 1, "HttpStatusCode": 200})
        if path == "/tds/PartnerCompliancePolicies" and request.method == "POST":
            if self.policy_exists:
                return httpx.Response(409, json={"odata.error": {"code": "Conflict", "message": {"value": "exists"}}})
            return httpx.Response(201, json={"Id": "policy-new", "Platform": body["Platform"]})
        if path == "/tds/PartnerCompliancePolicies":
            return httpx.Response(200, json={"value": [{"Id": "policy-old", "Platform": "iOS"}]})
        if path.endswith("/Assign"):
            return httpx.Response(200, json={"value": json.dumps({"assignments": body["assignments"]})})
        if path.startswith("/dds/DataUploadMessages") and request.method == "PUT":
            return httpx.Response(200, json={})
        if path.startswith("/dds/DataUploadMessages"):
            self.polls += 1
            if self.polls < 2:
                return httpx.Response(200, json={"Status": "Processing", "ErrorCode": None, "ErrorDetail": None})
            detail = "device not found" if self.final_status == "Failed" else None
            return httpx.Response(200, json={"Status": self.final_status, "ErrorCode": None, "ErrorDetail": detail})
        return httpx.Response(404, json={"error": {"code": "Request_ResourceNotFound", "message": url}})


def intune_channel(fake: FakeIntune, tokens: StaticTokens) -> IntuneChannel:
    def mdm_handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v1/users/user-1"
        return httpx.Response(
            200,
            json={
                "id": "user-1",
                "userName": "megan",
                "displayName": "Megan",
                "userPrincipalName": "megan@contoso.example",
                "createdDateTime": T0.isoformat(),
            },
        )

    mdm = MdmClient("http://mdm.example", api_key="k", http=httpx.Client(transport=httpx.MockTransport(mdm_handler)))
    intune = graph(fake, tokens)
    intune.scope = "https://api.manage.microsoft.com//.default"
    setup = IntuneSetup(graph(fake, tokens), intune, TENANT, "posturebridge CA", "https://e", "https://r")
    return IntuneChannel(setup, mdm, clock=lambda: T0, sleep=lambda _s: None, poll_seconds=0.01)


def test_the_intune_channel_provisions_once_then_uploads_and_polls_each_device() -> None:
    fake, tokens = FakeIntune(), StaticTokens()
    channel = intune_channel(fake, tokens)
    [first] = channel.deliver([item(1, platform="iOS", compliant=False, user="user-1")])
    assert first.ok, first.error
    fake.polls = 0
    [second] = channel.deliver([item(2, platform="iOS", user="user-1")])
    assert second.ok
    methods = [(m, httpx.URL(u).path) for m, u, _ in fake.calls]
    assert methods.count(("PUT", f"/tds/PartnerTenants(guid'{TENANT}')")) == 1
    assert ("POST", "/tds/PartnerCompliancePolicies(guid'policy-new')/Assign") in methods
    provision = next(b for m, u, b in fake.calls if "PartnerTenants" in u)
    assert provision == {"Provisioned": 1, "PartnerEnrollmentUrl": "https://e", "PartnerRemediationUrl": "https://r"}
    assign = next(b for m, u, b in fake.calls if u.endswith("Assign?api-version=1.6"))
    assert assign == {"assignments": ["group-1"]}
    upload = next(b for m, u, b in fake.calls if m == "PUT" and "DataUploadMessages" in u)
    assert upload["TenantId"] == TENANT and isinstance(upload["Content"], str)
    inventory, compliance = json.loads(upload["Content"])
    assert inventory["EntityType"] == 1 and inventory["DeviceManagementState"] == "managed"
    assert inventory["UserId"] == "entra-user-1" and inventory["EasIds"] == [] and inventory["State"] == 0
    assert compliance == {
        "EntityType": 4,
        "TenantId": TENANT,
        "DeviceId": "00000000-0000-0000-0000-000000000001",
        "UserId": "entra-user-1",
        "LastUpdateTime": inventory["LastUpdateTime"],
        "complianceStatus": "notCompliant",
    }
    assert "https://api.manage.microsoft.com//.default" in tokens.scopes
    upload_urls = [u for m, u, _ in fake.calls if m == "PUT" and "DataUploadMessages" in u]
    assert len(set(upload_urls)) == 2 and all(u.endswith("?api-version=1.2") for u in upload_urls)
    assert [c.request_summary.split(" ")[0] for c in first.calls] == ["PUT", "GET"]


def test_an_existing_policy_is_taken_from_the_list_after_409() -> None:
    fake = FakeIntune(policy_exists=True)
    channel = intune_channel(fake, StaticTokens())
    [delivery] = channel.deliver([item(1, platform="iOS", user="user-1")])
    assert delivery.ok and channel.setup.policies == {"iOS": "policy-old"}


def test_a_failed_message_is_a_retryable_failure_with_the_error_detail() -> None:
    channel = intune_channel(FakeIntune(final_status="Failed"), StaticTokens())
    [delivery] = channel.deliver([item(1, platform="android", user="user-1")])
    assert delivery.status == 0 and "device not found" in (delivery.error or "")
    assert delivery.calls[-1].error is not None


def test_a_device_without_a_user_is_refused_before_any_upload() -> None:
    fake = FakeIntune()
    [delivery] = intune_channel(fake, StaticTokens()).deliver([item(1, platform="macOS")])
    assert delivery.status == 400 and "no user" in (delivery.error or "")
    assert not any("DataUploadMessages" in u for _, u, _ in fake.calls)


def test_polls_start_short_and_back_off_to_the_poll_interval() -> None:
    fake = FakeIntune()
    fake.polls = -4  # five answers "Processing" before "Completed"
    slept: list[float] = []
    channel = intune_channel(fake, StaticTokens())
    channel.sleep, channel.poll_seconds = slept.append, 0.3
    [delivery] = channel.deliver([item(1, platform="iOS", user="user-1")])
    assert delivery.ok
    assert slept == pytest.approx([0.05, 0.1, 0.2, 0.3, 0.3])
