"""``--seed demo`` on the MDM side: the demo organisation, its users (the demo tenant's people) and a compliance
policy per platform, with organisation credentials written into ``<data-dir>/demo.json`` under ``"mdm"``.

Runs after the directory's seed (`posturebridge.demo.seed.seed_demo`, which writes demo.json) and adds its
section to that file. Idempotent: the organisation is found by name; its credentials are kept from demo.json
while they still belong to it, else a new client credential and API key are made (secrets are stored hashed,
so lost ones cannot be read back).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from posturebridge.common.clock import utcnow
from posturebridge.common.database import make_engine, unit_of_work
from posturebridge.common.settings import Settings
from posturebridge.demo.seed import DEMO_DOMAIN, DEMO_USERS, _write_private_json, demo_file
from posturebridge.mdm.models import CompliancePolicyRow, Organisation, User
from posturebridge.mdm.service import credentials, directory, policies

MDM_ORGANISATION_NAME = "Contoso (posturebridge demo)"
# One policy per platform: passcode and a current OS required (no jailbreak or root on phones), block at once,
# so a posture change shows in the feed and the directory without waiting for a grace period.
MINIMUM_OS = {"iOS": "17.0", "android": "13", "macOS": "14.0", "windows": "10.0.22000"}


def policy_document(platform: str) -> dict[str, Any]:
    rules: list[dict[str, Any]] = [
        {"type": "passcodeRequired"},
        {"type": "osMinimumVersion", "version": MINIMUM_OS[platform]},
    ]
    if platform in ("iOS", "android"):
        rules.append({"type": "securityBlockJailbrokenDevices"})
    return {
        "displayName": f"{platform} baseline",
        "platform": platform,
        "rules": rules,
        "scheduledActions": [{"actionType": "block"}],
        "assignment": {"allDevices": True},
    }


def mdm_section(settings: Settings) -> dict[str, Any] | None:
    """demo.json's ``mdm`` section as it is now (read it before the directory's seed rewrites the file)."""
    section = _read(demo_file(settings)).get("mdm")
    return section if isinstance(section, dict) else None


def seed_mdm_demo(settings: Settings, previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """Create or refresh the MDM demo organisation; add its ``mdm`` section to demo.json and return it.

    `previous` is the section from before (`mdm_section`), whose credentials are kept while they still work."""
    path = demo_file(settings)
    content = _read(path)
    engine = make_engine(settings.database_url("mdm"))
    try:
        with unit_of_work(sessionmaker(engine, expire_on_commit=False)) as session:
            section = _ensure(session, previous or content.get("mdm"))
            session.commit()
    finally:
        engine.dispose()
    section = {**section, "url": settings.url("mdm")}
    content["mdm"] = section
    _write_private_json(path, content)
    return section


def _ensure(session: Session, previous: object) -> dict[str, Any]:
    now = utcnow()
    organisation = session.scalars(select(Organisation).where(Organisation.name == MDM_ORGANISATION_NAME)).first()
    kept = previous if isinstance(previous, dict) else {}
    if organisation is None:
        created = credentials.create_organisation(session, MDM_ORGANISATION_NAME, now)
        organisation = created.organisation
        secrets = {"client_id": created.client.id, "client_secret": created.client.secret}
        secrets["api_key"] = created.api_key.secret
    elif kept.get("organisation_id") == organisation.id and kept.get("client_secret") and kept.get("api_key"):
        secrets = {key: str(kept[key]) for key in ("client_id", "client_secret", "api_key")}
    else:
        client = credentials.create_credential(session, organisation.id, "clientCredentials", "demo client", now)
        api_key = credentials.create_credential(session, organisation.id, "apiKey", "demo API key", now)
        secrets = {"client_id": client.id, "client_secret": client.secret, "api_key": api_key.secret}
    known = set(session.scalars(select(User.user_name).where(User.organisation_id == organisation.id)))
    for alias, name, _title in DEMO_USERS:
        if alias not in known:
            fields = directory.UserFields(
                user_name=alias,
                display_name=name,
                user_principal_name=f"{alias}@{DEMO_DOMAIN}",
                mail=f"{alias}@{DEMO_DOMAIN}",
            )
            directory.create_user(session, organisation.id, fields, now)
    names = set(
        session.scalars(
            select(CompliancePolicyRow.display_name).where(CompliancePolicyRow.organisation_id == organisation.id)
        )
    )
    for platform in MINIMUM_OS:
        document = policy_document(platform)
        if document["displayName"] not in names:
            policies.create_policy(session, organisation.id, document, now)
    return {
        "organisation_id": organisation.id,
        "name": MDM_ORGANISATION_NAME,
        **secrets,
        "user_names": [alias for alias, _name, _title in DEMO_USERS],
    }


def _read(path: Path) -> dict[str, Any]:
    try:
        content = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return content if isinstance(content, dict) else {}
