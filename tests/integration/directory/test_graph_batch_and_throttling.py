"""JSON batching (learn.microsoft.com/graph/json-batching) and throttling
(learn.microsoft.com/graph/throttling-limits)."""

from __future__ import annotations

from typing import Any

import pytest

from posturebridge.directory.models import Tenant
from tests.integration.directory.conftest import DirectoryServer, SeededTenant
from tests.integration.directory.graph_support import add_devices, app_token, graph

pytestmark = pytest.mark.integration


def _set_throttling(server: DirectoryServer, tenant_id: str, document: dict[str, Any]) -> None:
    with server.session() as session:
        row = session.get(Tenant, tenant_id)
        assert row is not None
        row.throttling = document
        session.commit()
    server.directory._tenants.clear()


def test_batch_runs_items_with_dependencies_and_424_for_failed_ones(
    directory_server: DirectoryServer, tenant: SeededTenant
) -> None:
    device = add_devices(directory_server, tenant.id, 1)[0]
    token = app_token(directory_server, tenant, ["Device.ReadWrite.All", "User.Read.All"])
    with graph(directory_server, token) as client:
        response = client.post(
            "/v1.0/$batch",
            json={
                "requests": [
                    {"id": "1", "method": "GET", "url": f"/devices/{device.id}"},
                    {
                        "id": "2",
                        "method": "PATCH",
                        "url": f"/devices/{device.id}",
                        "dependsOn": ["1"],
                        "headers": {"Content-Type": "application/json"},
                        "body": {"extensionAttributes": {"extensionAttribute2": "batched"}},
                    },
                    {"id": "3", "method": "GET", "url": "/devices/00000000-0000-0000-0000-000000000000"},
                    {"id": "4", "method": "GET", "url": "/users", "dependsOn": ["3"]},
                ]
            },
        )
        assert response.status_code == 200, response.text
        results = {item["id"]: item for item in response.json()["responses"]}
        assert results["1"]["status"] == 200 and results["1"]["body"]["id"] == device.id
        assert results["2"]["status"] == 204
        assert results["3"]["status"] == 404
        assert results["4"]["status"] == 424
        assert (
            client.get(f"/v1.0/devices/{device.id}").json()["extensionAttributes"]["extensionAttribute2"] == "batched"
        )


@pytest.mark.parametrize(
    "payload",
    [
        {"requests": [{"id": str(n), "method": "GET", "url": "/users"} for n in range(21)]},
        {"requests": [{"id": "1", "method": "GET", "url": "/users"}, {"id": "1", "method": "GET", "url": "/users"}]},
        {"requests": [{"id": "1", "method": "PATCH", "url": "/users/x", "body": {}}]},
        {"requests": [{"id": "1", "method": "GET", "url": "/users", "dependsOn": ["9"]}]},
        {"nothing": True},
    ],
    ids=["over-20", "duplicate-id", "body-without-content-type", "unknown-dependency", "no-requests"],
)
def test_malformed_batches_are_400(
    directory_server: DirectoryServer, tenant: SeededTenant, payload: dict[str, Any]
) -> None:
    token = app_token(directory_server, tenant, ["User.Read.All"])
    with graph(directory_server, token) as client:
        response = client.post("/v1.0/$batch", json=payload)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "Request_BadRequest"


def test_custom_limits_answer_429_with_retry_after_and_scope_headers(
    directory_server: DirectoryServer, tenant: SeededTenant
) -> None:
    token = app_token(directory_server, tenant, ["Device.Read.All"])
    limits = {
        "app_tenant_resource_units": [3, 600],
        "app_tenant_writes": [100, 600],
        "tenant_writes": [100, 600],
        "app_resource_units": [1000, 600],
        "app_writes": [1000, 600],
        "conditional_access": [1, 1],
    }
    _set_throttling(directory_server, tenant.id, {"mode": "custom", "custom": limits})
    try:
        with graph(directory_server, token) as client:
            statuses = [client.get("/v1.0/devices") for _ in range(4)]
            assert [r.status_code for r in statuses] == [200, 200, 200, 429]
            throttled = statuses[-1]
            assert int(throttled.headers["Retry-After"]) >= 1
            assert throttled.headers["x-ms-throttle-scope"].startswith("Tenant_Application/")
            assert throttled.json()["error"]["code"] == "TooManyRequests"
            assert statuses[0].headers["x-ms-resource-unit"] == "1"
            batch = client.post("/v1.0/$batch", json={"requests": [{"id": "1", "method": "GET", "url": "/devices"}]})
            assert batch.status_code == 200 and batch.json()["responses"][0]["status"] == 429
    finally:
        _set_throttling(directory_server, tenant.id, {})


def test_fault_injection_fails_the_configured_share_of_requests(
    directory_server: DirectoryServer, tenant: SeededTenant
) -> None:
    token = app_token(directory_server, tenant, ["Device.Read.All"])
    _set_throttling(directory_server, tenant.id, {"mode": "off", "faults": {"rate": 0.5, "statuses": [503]}})
    try:
        with graph(directory_server, token) as client:
            codes = [client.get("/v1.0/devices?$top=1").status_code for _ in range(200)]
        assert set(codes) == {200, 503}
        assert 60 <= codes.count(503) <= 140
    finally:
        _set_throttling(directory_server, tenant.id, {})
