"""The seed's story, end to end, against running services: every step over HTTP, narrated and checked.

The services are the ones ``posturebridge up --seed demo`` runs (``posturebridge demo`` starts them in a
fresh data directory); the story reads ``demo.json`` for the tenant, the admin application, the users and
the MDM organisation. It drives them as the actors of the seed do: the Entra admin through Graph, the MDM
admin through the MDM's API, the user's devices through the device agent (Hub and broker), the admin's
browser through the sign-in and consent pages. Nothing is written behind a service's back.

Each step says what it does and checks what it expects; the first mismatch raises :class:`Mismatch`, so
``posturebridge demo`` exits non-zero. The compliance flip is timed from the check-in's answer to the
directory's device record changing (Graph polled every 20 ms).
"""

from __future__ import annotations

import datetime as dt
import plistlib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
from rich.console import Console
from rich.table import Table

from posturebridge.cli.graph_access import GraphSession, GraphTarget
from posturebridge.demo.broker import EXCHANGE_SCOPE
from posturebridge.device.agent import (
    AgentEndpoints,
    BrokerApplication,
    DeviceAgent,
    DevicePlatform,
    SignInBlocked,
    TokenResponse,
)
from posturebridge.device.browser import first_form
from posturebridge.device.profiles import sso_extension_profile
from posturebridge.mdm.client import MdmClient

T = TypeVar("T")
POLICY_NAME = "Require a compliant device for Office 365"
PILOT_GROUP = "Workspace ONE pilot"
REGISTRATION_RULE = "Register for conditional access"
HUB_LINK = "wsonehub://conditionalaccess?partner=Microsoft"
MOBILE = (DevicePlatform.IOS, DevicePlatform.ANDROID)
DEVICES = (
    ("iphone", DevicePlatform.IOS, "iPhone 15", "17.5"),
    ("android", DevicePlatform.ANDROID, "Pixel 8", "14"),
    ("mac", DevicePlatform.MACOS, "MacBook Pro", "14.5"),
    ("laptop", DevicePlatform.WINDOWS, "Surface Laptop 5", "10.0.22631.3007"),
)


class Mismatch(Exception):
    """A step's outcome was not the expected one."""


@dataclass
class Narrator:
    console: Console
    steps: int = 0

    def step(self, title: str) -> None:
        self.steps += 1
        self.console.rule(f"[bold]{self.steps}. {title}", align="left")

    def say(self, text: str) -> None:
        self.console.print(f"   {text}", highlight=False)

    def expect(self, condition: bool, what: str) -> None:
        if not condition:
            raise Mismatch(f"step {self.steps}: expected {what}")
        self.console.print(f"   [green]✓[/green] {what}", highlight=False)


@dataclass
class Story:
    demo: dict[str, Any]
    data_dir: Path
    narrator: Narrator
    clients: list[httpx.Client] = field(default_factory=list)
    agents: dict[str, DeviceAgent] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)

    # --- plumbing ---

    def __post_init__(self) -> None:
        demo = self.demo
        target = GraphTarget.from_demo(self.data_dir / "demo.json")
        self.graph = GraphSession(target)
        beta = GraphTarget(
            target.authority,
            target.graph_url.replace("/v1.0", "/beta"),
            target.client_id,
            target.client_secret,
            target.ca_bundle,
        )
        self.beta = GraphSession(beta)
        ca = demo.get("ca_bundle")
        self.verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca) if ca else True
        mdm = demo["mdm"]
        self.mdm = MdmClient.with_client_credentials(demo["mdm_url"], mdm["client_id"], mdm["client_secret"])
        self.users = {u["userPrincipalName"].split("@")[0]: u for u in demo["users"]}

    def close(self) -> None:
        for agent in self.agents.values():
            agent.close()
        for client in self.clients:
            client.close()
        self.mdm.close()
        self.graph.close()
        self.beta.close()

    def _http(self, *, directory: bool) -> httpx.Client:
        client = httpx.Client(verify=self.verify if directory else True, timeout=30.0, trust_env=False)
        self.clients.append(client)
        return client

    @staticmethod
    def wait(what: str, probe: Callable[[], T | None], timeout: float = 60.0, interval: float = 0.05) -> T:
        deadline = time.monotonic() + timeout
        while True:
            found = probe()
            if found is not None and found is not False:
                return found
            if time.monotonic() > deadline:
                raise Mismatch(f"timed out after {timeout:.0f} s waiting for {what}")
            time.sleep(interval)

    def device_record(self, entra_device_id: str) -> dict[str, Any] | None:
        found = list(self.graph.list(f"/devices?$filter=deviceId eq '{entra_device_id}'"))
        return found[0] if found else None

    # --- the story ---

    def run(self) -> None:
        self.tenant()
        self.mdm_settings()
        self.compliance_partner()
        self.enable_partner()
        self.windows_mdm_application()
        self.profiles()
        self.report_only_policy()
        self.enrol_devices()
        self.registration_prompt()
        self.register_devices()
        self.first_sign_in_and_enforcement()
        self.passcode_removed()
        self.passcode_restored()
        self.logs()

    def tenant(self) -> None:
        n = self.narrator
        n.step("The tenant: users, licences and a pilot group")
        n.say(f"tenant {self.demo['tenant_id']} ({self.demo['tenant_domain']}), directory {self.demo['directory_url']}")
        skus = {s["skuPartNumber"] for s in self.graph.list("/subscribedSkus")}
        n.expect({"AAD_PREMIUM", "INTUNE_A"} <= skus, "Entra ID P1 and Intune licences subscribed")
        existing = list(self.graph.list(f"/groups?$filter=displayName eq '{PILOT_GROUP}'"))
        group = (
            existing[0]
            if existing
            else self.graph.post(
                "/groups",
                {
                    "displayName": PILOT_GROUP,
                    "mailEnabled": False,
                    "mailNickname": "wsonepilot",
                    "securityEnabled": True,
                },
            )
        )
        self.facts["group"] = group["id"]
        for alias in ("megan.bowen", "alex.wilber"):
            members = {m["id"] for m in self.graph.list(f"/groups/{group['id']}/members")}
            if self.users[alias]["id"] not in members:
                self.graph.post(
                    f"/groups/{group['id']}/members/$ref",
                    {"@odata.id": f"{self.demo['graph_url']}/directoryObjects/{self.users[alias]['id']}"},
                )
        members = {m["userPrincipalName"] for m in self.graph.list(f"/groups/{group['id']}/members")}
        n.expect(len(members) == 2, f"group '{PILOT_GROUP}' holds {', '.join(sorted(members))}")

    def mdm_settings(self) -> None:
        n = self.narrator
        n.step("Workspace ONE UEM: opt in to Intelligence, directory services, users and compliance policies")
        n.expect(self.mdm.set_intelligence(True).opted_in, "Intelligence opt-in on")
        services = self.mdm.set_directory_services(
            {
                "entraIntegrationEnabled": True,
                "directoryId": self.demo["tenant_id"],
                "useEntraIdForIdentityServices": True,
                "tenantName": self.demo["tenant_domain"],
                "immutableIdMapping": {"attribute": "userPrincipalName"},
                "sendComplianceForWindowsDevices": True,
            }
        )
        n.expect(
            services.entra_integration_enabled and services.directory_id == self.demo["tenant_id"],
            "directory services point at the tenant",
        )
        user = next(u for u in self.mdm.list_users() if u.user_name == "megan.bowen")
        self.facts["mdm_user"] = user.id
        n.say(f"MDM user megan.bowen, immutable ID toward Entra: {self.mdm.immutable_id(user.id).immutable_id}")
        for policy in self.mdm.list_policies():
            rules = ", ".join(str(rule["type"]) for rule in policy.rules)
            n.say(f"compliance policy '{policy.display_name}': {rules}; block at once")
        n.expect(len(self.mdm.list_policies()) >= 4, "a compliance policy per platform")

    def compliance_partner(self) -> None:
        n = self.narrator
        n.step("Entra: add the compliance partner for iOS, Android and macOS, assigned to the pilot group")
        target = {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": self.facts["group"]}
        assignments = [{"target": target}]
        existing = [
            p
            for p in self.beta.list("/deviceManagement/complianceManagementPartners")
            if p["displayName"] == self.demo["partner_app"]["display_name"]
        ]
        partner = (
            existing[0]
            if existing
            else self.beta.post(
                "/deviceManagement/complianceManagementPartners",
                {
                    "displayName": self.demo["partner_app"]["display_name"],
                    "iosOnboarded": True,
                    "androidOnboarded": True,
                    "macOsOnboarded": True,
                    "iosEnrollmentAssignments": assignments,
                    "androidEnrollmentAssignments": assignments,
                    "macOsEnrollmentAssignments": assignments,
                },
            )
        )
        self.facts["partner"] = partner["id"]
        n.say(f"complianceManagementPartner {partner['id']}: partnerState {partner['partnerState']}")
        n.expect(partner["partnerState"] in ("unknown", "enabled"), "the partner waits for onboarding")

    def enable_partner(self) -> None:
        n = self.narrator
        n.step("Workspace ONE UEM: enable the partner; the Entra admin grants consent; complete setup")
        pending = self.mdm.enable_compliance_partner(["iOS", "android", "macOS", "windows"])
        n.expect(pending.state == "consentPending", "the partner service registered the organisation")
        url = str(pending.admin_consent_url)
        n.say(f"admin consent: {url[:110]}…")
        admin = self.users["adele.vance"]
        callback = self.admin_consent(url, admin["userPrincipalName"], admin["password"])
        n.expect(callback.status_code == 200, f"{admin['userPrincipalName']} accepted the permissions")
        n.expect(self.mdm.compliance_partner().state == "consented", "the partner service saw the consent")
        enabled = self.mdm.complete_compliance_partner_setup()
        n.expect(enabled.state == "enabled", f"setup complete ({enabled.last_error or 'no error'})")
        record = self.beta.get(f"/deviceManagement/complianceManagementPartners/{self.facts['partner']}")
        n.expect(record["partnerState"] == "enabled", f"Entra shows partnerState {record['partnerState']}")
        self.facts["partner_app_id"] = self.demo["partner_app"]["client_id"]

    def admin_consent(self, url: str, username: str, password: str) -> httpx.Response:
        """The admin's browser: sign in on the directory's page, accept on the consent page, follow the redirect
        back to the partner service."""
        browser = self._http(directory=True)
        page = browser.get(url, follow_redirects=True)
        for values in ({"login": username, "passwd": password}, {"decision": "accept"}):
            form = first_form(page.text)
            if form is None:
                raise Mismatch(f"expected a form on {page.url}, got HTTP {page.status_code}")
            page = browser.post(urljoin(str(page.url), form.action), data={**form.fields, **values})
        location = page.headers.get("location", "")
        if page.status_code != 302 or "error=" in location:
            query = parse_qs(urlsplit(location).query)
            raise Mismatch(f"consent did not complete: {query.get('error_description', [page.status_code])[0]}")
        return self._http(directory=False).get(location)

    def windows_mdm_application(self) -> None:
        n = self.narrator
        n.step("Entra: Mobility (MDM and MAM): the partner's application is the MDM application for Windows")
        app_id = self.facts["partner_app_id"]
        # Entra requires https URLs here; the embedded MDM serves plain HTTP on loopback and the agent enrols
        # through its API, so the policy carries Workspace ONE's SaaS URL pattern (nothing fetches them).
        mdm_url = "https://cn1380.awmdm.com"
        existing = {p["id"] for p in self.beta.list("/policies/mobileDeviceManagementPolicies")}
        if app_id not in existing:
            self.beta.post(
                "/policies/mobileDeviceManagementPolicies",
                {
                    "id": app_id,
                    "appliesTo": "all",
                    "discoveryUrl": f"{mdm_url}/DeviceServices/Discovery.aws",
                    "termsOfUseUrl": f"{mdm_url}/DeviceManagement/Enrollment/TermsOfUse",
                    "complianceUrl": f"{mdm_url}/DeviceManagement/Compliance",
                },
            )
        policy = self.beta.get(f"/policies/mobileDeviceManagementPolicies/{app_id}")
        n.expect(policy["appliesTo"] == "all", f"{policy['displayName']} applies to all users")

    def profiles(self) -> None:
        n = self.narrator
        n.step("What the admin deploys: the Enterprise SSO extension profiles for iOS and macOS")
        folder = self.data_dir / "profiles"
        folder.mkdir(parents=True, exist_ok=True)
        for platform in ("ios", "macos"):
            data = sso_extension_profile(
                platform, organisation="Contoso", identifier=f"com.contoso.sso.{platform}", deterministic_uuids=True
            )
            path = folder / f"microsoft-sso-{platform}.mobileconfig"
            path.write_bytes(data)
            payload = plistlib.loads(data)["PayloadContent"][0]
            n.say(f"{path}: {payload['ExtensionIdentifier']} ({payload['Type']})")
            n.expect(
                payload["PayloadType"] == "com.apple.extensiblesso", f"{platform} profile is an Extensible SSO payload"
            )

    def report_only_policy(self) -> None:
        n = self.narrator
        n.step(f"Conditional Access: '{POLICY_NAME}', report-only first")
        existing = [
            p for p in self.graph.list("/identity/conditionalAccess/policies") if p["displayName"] == POLICY_NAME
        ]
        policy = (
            existing[0]
            if existing
            else self.graph.post(
                "/identity/conditionalAccess/policies",
                {
                    "displayName": POLICY_NAME,
                    "state": "enabledForReportingButNotEnforced",
                    "conditions": {
                        "clientAppTypes": ["all"],
                        "users": {"includeGroups": [self.facts["group"]]},
                        "applications": {"includeApplications": ["Office365"]},
                    },
                    "grantControls": {"operator": "OR", "builtInControls": ["compliantDevice"]},
                },
            )
        )
        self.facts["policy"] = policy["id"]
        n.expect(policy["state"] == "enabledForReportingButNotEnforced", "the policy is report-only")

    def enrol_devices(self) -> None:
        n = self.narrator
        n.step("Megan enrols an iPhone, an Android phone, a Mac and a Windows laptop with Intelligent Hub")
        broker = self.demo["broker"]
        endpoints = AgentEndpoints(
            mdm_url=self.demo["mdm_url"],
            directory_url=self.demo["directory_url"],
            broker=BrokerApplication(broker["client_id"], broker["redirect_uri"]),
            tenant=self.demo["tenant_id"],
        )
        for name, platform, model, version in DEVICES:
            agent = DeviceAgent.create(
                self.data_dir / "devices" / name / "state.json",
                platform,
                endpoints,
                clock=lambda: dt.datetime.now(dt.UTC),
                model=model,
                os_version=version,
                display_name=f"Megan's {model}",
                directory_http=self._http(directory=True),
                mdm_http=self._http(directory=False),
            )
            token = self.mdm.create_enrollment_token(user_id=self.facts["mdm_user"], platform=platform.value).token
            assert token is not None
            device = agent.enrol(token, "megan.bowen", serial_number=f"SN-{name.upper()}")
            posture: dict[str, Any] = {"passcodePresent": True}
            if platform in MOBILE:
                posture["compromised"] = False
            answer = agent.check_in(posture)
            self.agents[name] = agent
            n.say(f"{model}: MDM device {device.id}, {answer.compliance_state}")
        states = {self.mdm.get_device(str(a.state.mdm_device_id)).compliance_state for a in self.agents.values()}
        n.expect(states == {"compliant"}, "all four devices enrolled and compliant in the MDM")

    def registration_prompt(self) -> None:
        n = self.narrator
        n.step("A workflow rule: enrolled and not registered in Entra -> Hub notification with the deep link")
        rules = {r.name for r in self.mdm.list_workflow_rules()}
        if REGISTRATION_RULE not in rules:
            self.mdm.create_workflow_rule(
                REGISTRATION_RULE,
                {"type": "enrolledNotRegisteredInEntra", "hours": 0},
                [
                    {
                        "type": "sendHubNotification",
                        "title": "Register your device to keep access to email",
                        "body": "Your organisation requires a compliant device for Office 365. Tap to register.",
                        "deepLink": HUB_LINK,
                    }
                ],
            )
        links = {}
        for name, agent in self.agents.items():

            def prompted(agent: DeviceAgent = agent) -> str | None:
                found = [note.deep_link for note in agent.notifications() if note.deep_link]
                return found[0] if found else None

            links[name] = self.wait(f"the Hub notification on {name}", prompted, timeout=30, interval=0.2)
            n.say(f"{name}: Hub shows '{REGISTRATION_RULE}' -> {links[name]}")
        self.facts["links"] = links
        n.expect(len(links) == len(self.agents), "every device was prompted to register")

    def register_devices(self) -> None:
        n = self.narrator
        n.step("Megan follows the link: the broker signs her in and registers each device in Entra")
        megan = self.users["megan.bowen"]
        for name, agent in self.agents.items():
            link = self.facts["links"][name]
            joined = agent.platform is DevicePlatform.WINDOWS
            registration = agent.register(
                link,
                megan["userPrincipalName"],
                megan["password"],
                mdm_app_id=self.facts["partner_app_id"] if joined else None,
            )
            n.say(f"{name}: Entra device {registration.entra_device_id}, trustType {registration.trust_type}")
            n.expect(
                registration.trust_type == ("AzureAd" if joined else "Workplace"),
                f"{name} {'joined through the MDM application' if joined else 'registered'}",
            )
            mdm_view = self.mdm.get_device(str(agent.state.mdm_device_id))
            n.expect(
                mdm_view.entra_device_id == registration.entra_device_id, f"the MDM knows {name}'s Entra device ID"
            )
        n.say("the partner service now links each device and writes its state to Entra")
        for name, agent in self.agents.items():
            entra = str(agent.state.entra_device_id)

            def delivered(entra: str = entra) -> dict[str, Any] | None:
                record = self.device_record(entra)
                return record if record and record.get("isCompliant") is True and record.get("isManaged") else None

            record = self.wait(f"{name} to be marked managed and compliant in Entra", delivered, timeout=90)
            n.say(f"✓ {name}: isManaged {record['isManaged']}, isCompliant {record['isCompliant']} in Entra")

    def sign_in(self, name: str) -> TokenResponse | SignInBlocked:
        agent = self.agents[name]
        if agent.state.refresh_token is None:
            return agent.sign_in(EXCHANGE_SCOPE, interactive=True, password=self.users["megan.bowen"]["password"])
        return agent.sign_in(EXCHANGE_SCOPE, interactive=False)

    def first_sign_in_and_enforcement(self) -> None:
        n = self.narrator
        n.step("Megan opens Outlook on the iPhone: report-only, then enforced")
        first = self.sign_in("iphone")
        n.expect(isinstance(first, TokenResponse), "signed in (the policy only reports)")
        applied = {p["displayName"]: p["result"] for p in self.newest_sign_in()["appliedConditionalAccessPolicies"]}
        n.expect(applied.get(POLICY_NAME) == "reportOnlySuccess", "the sign-in log records reportOnlySuccess")
        self.graph.patch(f"/identity/conditionalAccess/policies/{self.facts['policy']}", {"state": "enabled"})
        n.say(f"'{POLICY_NAME}' is now enabled")
        for name in self.agents:
            granted = self.sign_in(name)
            n.expect(isinstance(granted, TokenResponse), f"{name}: granted (compliant device)")

    def passcode_removed(self) -> None:
        n = self.narrator
        n.step("Megan removes the iPhone's passcode")
        agent = self.agents["iphone"]
        entra = str(agent.state.entra_device_id)
        answer = agent.check_in({"passcodePresent": False})
        started = time.monotonic()
        n.expect(answer.compliance_state == "noncompliant", f"the MDM judges it {answer.compliance_state}")

        def not_compliant() -> bool:
            record = self.device_record(entra)
            return record is not None and record.get("isCompliant") is False

        self.wait("Entra to mark the iPhone not compliant", not_compliant, interval=0.02)
        self.facts["propagation_ms"] = (time.monotonic() - started) * 1000
        n.say(f"✓ Entra marked it not compliant {self.facts['propagation_ms']:.0f} ms after the check-in")
        blocked = self.sign_in("iphone")
        n.expect(
            isinstance(blocked, SignInBlocked) and blocked.error_code == 53000,
            "Outlook is blocked with AADSTS53000",
        )
        assert isinstance(blocked, SignInBlocked)
        n.say(f"remediation shown to Megan: {blocked.remediation}")
        entry = self.newest_sign_in()
        applied = {p["displayName"]: p["result"] for p in entry.get("appliedConditionalAccessPolicies", [])}
        n.expect(
            entry["status"]["errorCode"] == 53000
            and entry["deviceDetail"]["deviceId"] == entra
            and applied.get(POLICY_NAME) == "failure",
            f"the sign-in log shows the iPhone and '{POLICY_NAME}' failed",
        )

    def passcode_restored(self) -> None:
        n = self.narrator
        n.step("Megan sets a passcode again")
        agent = self.agents["iphone"]
        entra = str(agent.state.entra_device_id)
        answer = agent.check_in({"passcodePresent": True})
        n.expect(answer.compliance_state == "compliant", "the MDM judges it compliant")

        def compliant() -> bool:
            record = self.device_record(entra)
            return record is not None and record.get("isCompliant") is True

        self.wait("Entra to mark the iPhone compliant", compliant, interval=0.02)
        granted = self.sign_in("iphone")
        n.expect(isinstance(granted, TokenResponse), "Outlook signs in again")

    def newest_sign_in(self) -> dict[str, Any]:
        user_id = self.users["megan.bowen"]["id"]
        entries = list(self.graph.list(f"/auditLogs/signIns?$filter=userId eq '{user_id}'&$top=5"))
        if not entries:
            raise Mismatch("no sign-in log entry for Megan")
        return max(entries, key=lambda e: str(e["createdDateTime"]))

    def logs(self) -> None:
        n = self.narrator
        n.step("What the admins see")
        agent = self.agents["iphone"]
        console = n.console
        table = Table(title="The iPhone's CA log in the MDM", title_justify="left")
        for column in ("time", "channel", "request", "status", "error"):
            table.add_column(column)
        device_id = str(agent.state.mdm_device_id)

        def forwarded() -> list[Any] | None:
            # the partner appends its call records to the CA log a moment after each delivery
            entries = self.mdm.ca_log(device_id)
            summaries = [entry.request_summary for entry in entries]
            return entries if sum("compliant=False" in text for text in summaries) >= 1 and len(entries) >= 6 else None

        entries = sorted(self.wait("the CA log entries", forwarded, timeout=30), key=lambda e: e.occurred_date_time)
        for entry in entries[-8:]:
            table.add_row(
                str(entry.occurred_date_time)[11:23],
                entry.channel,
                entry.request_summary[:100],
                str(entry.response_status or ""),
                entry.error or "",
            )
        console.print(table)
        record = self.device_record(str(agent.state.entra_device_id))
        assert record is not None
        audits = list(
            self.graph.list(f"/auditLogs/directoryAudits?$filter=targetResources/any(t: t/id eq '{record['id']}')")
        )
        audits.sort(key=lambda audit: str(audit["activityDateTime"]))
        table = Table(title="Directory audit entries for the iPhone", title_justify="left")
        for column in ("time", "activity", "initiated by", "result"):
            table.add_column(column)
        for audit in audits[-8:]:
            initiator = audit.get("initiatedBy") or {}
            who = (initiator.get("app") or {}).get("displayName") or (initiator.get("user") or {}).get(
                "userPrincipalName"
            )
            table.add_row(
                str(audit["activityDateTime"])[11:23], audit["activityDisplayName"], str(who), audit["result"]
            )
        console.print(table)
        n.expect(any(a["activityDisplayName"] == "Update device" for a in audits), "'Update device' audit entries")
        user_id = self.users["megan.bowen"]["id"]
        signins = list(self.graph.list(f"/auditLogs/signIns?$filter=userId eq '{user_id}'&$top=20"))
        table = Table(title="Megan's sign-ins", title_justify="left")
        for column in ("time", "device", "error", "conditional access"):
            table.add_column(column)
        for entry in sorted(signins, key=lambda e: str(e["createdDateTime"]))[-8:]:
            table.add_row(
                str(entry["createdDateTime"])[11:23],
                (entry.get("deviceDetail") or {}).get("displayName") or "",
                str(entry["status"]["errorCode"]),
                entry.get("conditionalAccessStatus", ""),
            )
        console.print(table)
        n.say(
            f"the passcode change reached Entra {self.facts['propagation_ms']:.0f} ms after the check-in "
            "(the reference systems take minutes to hours)"
        )
