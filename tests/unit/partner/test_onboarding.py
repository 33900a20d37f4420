"""Registration states: register, the consent callback (granted, denied, replayed, wrong tenant), complete."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy.orm import Session, sessionmaker

from posturebridge.common.database import unit_of_work
from posturebridge.partner import onboarding
from posturebridge.partner.onboarding import (
    ConsentAnswer,
    ConsentLink,
    NotRegistered,
    OnboardingError,
    RegistrationRequest,
    WrongState,
)
from tests.unit.partner.conftest import T0

TENANT = "3f2c1d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
ORG = "9b8a7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"


def _request(**changes: object) -> RegistrationRequest:
    values: dict[str, object] = {
        "mdm_organisation_id": ORG,
        "tenant_id": TENANT,
        "mdm_url": "http://mdm.test",
        "mdm_client_id": "client",
        "mdm_client_secret": "secret",
        "platforms": ("iOS",),
    }
    values.update(changes)
    return RegistrationRequest(**values)  # type: ignore[arg-type]


def _register(sessions: sessionmaker[Session], **changes: object) -> str:
    with unit_of_work(sessions) as session:
        _, state = onboarding.register(session, _request(**changes), T0)
        session.commit()
    return state


def _consent(sessions: sessionmaker[Session], answer: ConsentAnswer) -> tuple[str, str | None]:
    with unit_of_work(sessions) as session:
        row = onboarding.record_consent(session, answer, T0 + dt.timedelta(minutes=1))
        session.commit()
        return row.state, row.last_error


def _granted(state: str, tenant: str = TENANT) -> ConsentAnswer:
    return ConsentAnswer(state=state, tenant=tenant, admin_consent="True", error=None, error_description=None)


def test_the_consent_url_names_the_tenant_the_application_and_the_callback() -> None:
    link = ConsentLink("https://login.microsoftonline.com", "app-id", "https://partner.test/api/v1/consent/callback")
    url = urlsplit(link.url(TENANT, "opaque"))
    assert (url.netloc, url.path) == ("login.microsoftonline.com", f"/{TENANT}/v2.0/adminconsent")
    assert parse_qs(url.query) == {
        "client_id": ["app-id"],
        "scope": ["https://graph.microsoft.com/.default"],
        "redirect_uri": ["https://partner.test/api/v1/consent/callback"],
        "state": ["opaque"],
    }


def test_a_granted_consent_moves_the_registration_to_consented_once(sessions: sessionmaker[Session]) -> None:
    state = _register(sessions)
    assert _consent(sessions, _granted(state)) == ("consented", None)
    with pytest.raises(NotRegistered):  # a state is used once
        _consent(sessions, _granted(state))


def test_a_denied_consent_records_why_and_changes_nothing_else(sessions: sessionmaker[Session]) -> None:
    state = _register(sessions)
    denied = ConsentAnswer(state, TENANT, None, "access_denied", "AADSTS65004: User declined to consent.\nTrace")
    assert _consent(sessions, denied) == (
        "consentPending",
        "admin consent was not granted: access_denied: AADSTS65004: User declined to consent.",
    )
    with unit_of_work(sessions) as session, pytest.raises(WrongState) as refused:
        onboarding.begin_complete(session, ORG)
    assert refused.value.code == "consentRequired" and "AADSTS65004" in refused.value.message
    assert _consent(sessions, _granted(state))[0] == "consented"  # the same link may still be accepted


def test_consent_granted_in_another_tenant_is_not_taken(sessions: sessionmaker[Session]) -> None:
    state = _register(sessions)
    other = "00000000-1111-4222-8333-444444444444"
    result, error = _consent(sessions, _granted(state, tenant=other))
    assert result == "consentPending" and error is not None and other in error


def test_complete_sets_enabled_or_failed_and_an_enabled_organisation_stays_enabled(
    sessions: sessionmaker[Session],
) -> None:
    _consent(sessions, _granted(_register(sessions)))
    with unit_of_work(sessions) as session:
        row = onboarding.begin_complete(session, ORG)
        failed = onboarding.finish_complete(session, row.id, "no token (consentMissing)", T0)
        session.commit()
        assert (failed.state, failed.last_error) == ("failed", "no token (consentMissing)")
        enabled = onboarding.finish_complete(session, row.id, None, T0)
        session.commit()
        assert (enabled.state, enabled.last_error) == ("enabled", None)
        again = onboarding.finish_complete(session, row.id, "HTTP 503", T0)
        session.commit()
        assert (again.state, again.last_error) == ("enabled", "HTTP 503")
    _register(sessions, mdm_client_id="new-client")
    with unit_of_work(sessions) as session:
        [hosted] = onboarding.enabled(session)
    assert hosted.mdm_client_id == "new-client" and hosted.platforms == ("iOS",)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"tenant_id": "contoso.example"}, "invalidTenant"),
        ({"mdm_url": "mdm.test"}, "invalidMdmUrl"),
        ({"platforms": ("blackberry",)}, "platformNotSupported"),
    ],
)
def test_invalid_registrations_are_refused(
    sessions: sessionmaker[Session], changes: dict[str, object], code: str
) -> None:
    with unit_of_work(sessions) as session, pytest.raises(OnboardingError) as refused:
        onboarding.register(session, _request(**changes), T0)
    assert refused.value.code == code
