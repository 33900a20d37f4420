"""The MDM's compliance page in Chromium: the failed rule, since when, and how to fix it; a tampered link
shows the refusal page and nothing of the device."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pytest

from posturebridge.mdm.client import MdmClient
from tests.integration.mdm.conftest import LiveMdm

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext

pytestmark = pytest.mark.e2e

POLICY = {
    "displayName": "iOS baseline",
    "platform": "iOS",
    "rules": [{"type": "passcodeRequired"}],
    "scheduledActions": [{"actionType": "block"}],
    "assignment": {"allDevices": True},
}


def test_the_compliance_page_shows_the_failed_rule_and_refuses_a_tampered_link(
    live_mdm: LiveMdm, context: BrowserContext
) -> None:
    with live_mdm.admin() as admin:
        admin.create_policy(POLICY)
        token = admin.create_enrollment_token().token
    assert token is not None
    with MdmClient(live_mdm.url) as anonymous:
        enrolled = anonymous.enroll(token, platform="iOS", model="iPhone15,2", os_version="17.4.1")
    with MdmClient.for_device(live_mdm.url, enrolled.device_token) as device:
        sample = {
            "sequence": 1,
            "nonce": uuid.uuid4().hex,
            "sampledDateTime": live_mdm.clock().isoformat(),
            "passcodePresent": False,
        }
        assert device.check_in(enrolled.device_id, sample).compliance_state == "noncompliant"
        link = device.compliance_page_link().url

    page = context.new_page()
    response = page.goto(link)
    assert response is not None and response.status == 200
    assert page.locator("#compliance-state").inner_text() == "noncompliant"
    rule = page.locator("section.rule")
    assert rule.count() == 1
    text = rule.inner_text()
    assert "a passcode is set" in text and "no passcode is set" in text and "since" in text
    assert "How to fix: Set a screen lock passcode" in text
    assert "refuse you until the device is fixed" in page.locator("#next-steps").inner_text()

    refused = page.goto(link[:-3] + ("xyz" if not link.endswith("xyz") else "abc"))
    assert refused is not None and refused.status == 403
    assert "does not verify" in page.locator("#reason").inner_text()
    assert enrolled.device_id not in page.content() and "iPhone" not in page.content()
