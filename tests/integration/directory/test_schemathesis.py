"""A bounded schemathesis run against the directory's OpenAPI document: no input may cause a server error.

Every operation is called with generated path, query and body values, authenticated as an application
holding every permission the demo admin app has, so requests get past the token check into the routes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.integration.directory.conftest import DirectoryServer, SeededTenant, seed_tenant
from tests.integration.directory.graph_support import add_devices, app_token

pytestmark = pytest.mark.integration

PERMISSIONS = [
    "Directory.ReadWrite.All", "User.ReadWrite.All", "Group.ReadWrite.All", "Application.ReadWrite.All",
    "Device.ReadWrite.All", "AuditLog.Read.All", "Policy.Read.All", "Policy.ReadWrite.ConditionalAccess",
    "CustomSecAttributeAssignment.ReadWrite.All", "Organization.Read.All", "RoleManagement.Read.Directory",
    "Domain.Read.All", "DeviceManagementServiceConfig.ReadWrite.All",
]  # fmt: skip


@pytest.fixture(scope="module")
def fuzz_target(directory_server: DirectoryServer, tenant_module: SeededTenant) -> Iterator[str]:
    add_devices(directory_server, tenant_module.id, 5)
    yield app_token(directory_server, tenant_module, PERMISSIONS, name="schemathesis")


@pytest.fixture(scope="module")
def tenant_module(directory_server: DirectoryServer) -> SeededTenant:
    return seed_tenant(directory_server)


def _fuzz(operation: Any, headers: dict[str, str], failures: list[str]) -> None:
    """Bounded generated calls of one operation; each server error is recorded with the operation's label."""

    @settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
    @given(case=operation.as_strategy())
    def run(case: schemathesis.Case) -> None:
        try:
            case.call_and_validate(headers=headers, checks=[not_a_server_error])
        except AssertionError as error:
            failures.append(f"{operation.label}: {str(error).splitlines()[0]}")
            raise

    run()


def test_no_input_causes_a_server_error(directory_server: DirectoryServer, fuzz_target: str) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", directory_server.app)
    headers = {"Authorization": f"Bearer {fuzz_target}"}
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operations += 1
        with contextlib.suppress(AssertionError):
            _fuzz(result.ok(), headers, failures)
    assert operations > 40, "the OpenAPI document describes the directory's routes"
    assert failures == []
