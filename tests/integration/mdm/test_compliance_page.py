"""The user-facing compliance page: what a signed link shows, and that nothing else opens it."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import httpx
import pytest
from tests.integration.mdm.conftest import LiveMdm, live_mdm  # noqa: F401  (fixture)

from posturebridge.mdm.client import MdmClient

pytestmark = pytest.mark.integration

POLICY = {
    "displayName": "iOS page baseline",
    "platform": "iOS",
    "rules": [{"type": "osMinimumVersion", "version": "17.0"}, {"type": "passcodeRequired"}],
    "scheduledActions": [{"actionType": "block", "gracePeriodHours": 0}],
    "assignment": {"allDevices": True},
}


def _enrol(live: LiveMdm, admin: MdmClient, *, passcode: bool) -> tuple[str, MdmClient]:
    token = admin.create_enrollment_token().token
    assert token is not None
    with MdmClient(live.url) as anonymous:
        enrolled = anonymous.enroll(token, platform="iOS", model="iPhone15,2", os_version="17.4.1")
    device = MdmClient.for_device(live.url, enrolled.device_token)
    sample = {
        "sequence": 1,
        "nonce": uuid.uuid4().hex,
        "sampledDateTime": live.clock().isoformat(),
        "osVersion": "17.4.1",
        "passcodePresent": passcode,
    }
    device.check_in(enrolled.device_id, sample)
    return enrolled.device_id, device


@pytest.fixture(scope="module")
def devices(live_mdm: LiveMdm) -> Iterator[dict[str, tuple[str, MdmClient]]]:  # noqa: F811
    with live_mdm.admin(live_mdm.fabrikam) as admin:
        admin.create_policy(POLICY)
        made = {"failing": _enrol(live_mdm, admin, passcode=False), "fine": _enrol(live_mdm, admin, passcode=True)}
    yield made
    for _, client in made.values():
        client.close()


def test_the_device_link_shows_the_failed_rule_since_when_and_how_to_fix_it(
    live_mdm: LiveMdm,  # noqa: F811
    devices: dict[str, tuple[str, MdmClient]],
) -> None:
    device_id, client = devices["failing"]
    link = client.compliance_page_link()
    assert link.url.startswith(f"{live_mdm.url}/compliance/{device_id}?t=")
    assert dt.timedelta(hours=23) < link.expires_date_time - live_mdm.clock() <= dt.timedelta(hours=24)
    page = httpx.get(link.url)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store" and page.headers["referrer-policy"] == "no-referrer"
    text = page.text
    assert 'id="compliance-state">noncompliant<' in text
    assert (
        "a passcode is set" in text
        and "no passcode is set" in text
        and "How to fix: Set a screen lock passcode" in text
    )
    assert "iOS page baseline" in text and "iPhone15,2" in text and device_id in text
    assert "refuse you until the device is fixed" in text  # what happens next
    assert "OS version 17.0 or later" not in text  # a passing rule is not listed as failed


def test_a_compliant_device_says_so_and_until_when(devices: dict[str, tuple[str, MdmClient]]) -> None:
    _, client = devices["fine"]
    text = httpx.get(client.compliance_page_link().url).text
    assert 'id="compliance-state">compliant<' in text and "What is wrong" not in text
    assert "stays compliant while it checks in" in text


def test_an_administrator_can_hand_out_a_link(
    live_mdm: LiveMdm,  # noqa: F811
    devices: dict[str, tuple[str, MdmClient]],
) -> None:
    device_id, _ = devices["failing"]
    with live_mdm.admin(live_mdm.fabrikam) as admin:
        assert httpx.get(admin.device_compliance_page_link(device_id).url).status_code == 200
    with live_mdm.admin() as other_organisation, pytest.raises(Exception, match="404"):
        other_organisation.device_compliance_page_link(device_id)


def test_no_tampered_foreign_or_expired_link_opens_a_page(
    live_mdm: LiveMdm,  # noqa: F811
    devices: dict[str, tuple[str, MdmClient]],
) -> None:
    device_id, client = devices["failing"]
    other_id, other = devices["fine"]
    url = client.compliance_page_link().url
    base, token = url.split("?t=")
    other_token = other.compliance_page_link().url.split("?t=")[1]
    payload, signature = token.split(".")
    forged_payload = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB")
    cases = {
        "no token": (base, 401, "carries no access token"),
        "tampered payload": (f"{base}?t={forged_payload}.{signature}", 403, ""),
        "tampered signature": (f"{base}?t={payload}.{signature[::-1]}", 403, "signature does not verify"),
        "garbage": (f"{base}?t=not-a-token", 403, ""),
        "another device's link": (f"{base}?t={other_token}", 403, "for another device"),
    }
    for name, (target, status, reason) in cases.items():
        answer = httpx.get(target)
        assert answer.status_code == status, name
        assert device_id not in answer.text and other_id not in answer.text and "iPhone" not in answer.text, name
        assert reason.lower() in answer.text.lower(), (name, answer.text)

    live_mdm.clock.offset += dt.timedelta(hours=25)
    try:
        expired = httpx.get(url)
    finally:
        live_mdm.clock.offset -= dt.timedelta(hours=25)
    assert expired.status_code == 403 and "expired" in expired.text and device_id not in expired.text
