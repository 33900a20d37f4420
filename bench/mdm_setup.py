"""Shared set-up of the MDM benchmarks: a database with one organisation, five compliance policies and
N devices enrolled through the real enrolment service; and an MDM process to measure over HTTP."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from posturebridge.common.database import make_engine, migrate, unit_of_work
from posturebridge.mdm.service import credentials, enrollment, policies
from posturebridge.mdm.service.compliance import ConfigurationCache

PLATFORMS = [("iOS", "17.4", "iPhone15,2"), ("android", "14", "Pixel 8"), ("windows", "10.0.22631.3007", "Latitude")]
POLICIES: list[dict[str, Any]] = [
    {
        "displayName": "iOS baseline",
        "platform": "iOS",
        "rules": [
            {"type": "osMinimumVersion", "version": "17.0"},
            {"type": "passcodeRequired"},
            {"type": "securityBlockJailbrokenDevices"},
        ],
        "scheduledActions": [{"actionType": "notification"}, {"actionType": "block", "gracePeriodHours": 24}],
        "assignment": {"allDevices": True},
    },
    {
        "displayName": "iOS storage",
        "platform": "iOS",
        "rules": [{"type": "storageRequireEncryption"}, {"type": "deviceLastSeen", "maximumHours": 72}],
        "assignment": {"allDevices": True},
    },
    {
        "displayName": "Android baseline",
        "platform": "android",
        "rules": [{"type": "osMinimumVersion", "version": "13"}, {"type": "passcodeRequired"}],
        "assignment": {"allDevices": True},
    },
    {
        "displayName": "Windows baseline",
        "platform": "windows",
        "rules": [{"type": "osMinimumVersion", "version": "10.0.19045"}, {"type": "bitLockerEnabled"}],
        "assignment": {"allDevices": True},
    },
    {
        "displayName": "macOS baseline",
        "platform": "macOS",
        "rules": [{"type": "fileVaultEnabled"}],
        "assignment": {"allDevices": True},
    },
]


@dataclass
class Fleet:
    url: str
    organisation: credentials.NewOrganisation
    devices: list[tuple[str, str, str]]
    """(device id, device token, platform)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fresh_database(kind: str, workdir: Path, postgres_server: str) -> tuple[str, Engine | None]:
    """A new empty database URL; for PostgreSQL also the admin engine to drop it with."""
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'mdm.db'}", None
    name = f"pb_bench_mdm_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    return make_url(postgres_server).set(database=name).render_as_string(hide_password=False), admin


def drop_database(url: str, admin: Engine | None) -> None:
    if admin is None:
        return
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def seed(url: str, devices: int) -> tuple[credentials.NewOrganisation, list[tuple[str, str, str]]]:
    engine = make_engine(url)
    migrate(engine, "mdm")
    sessions = sessionmaker(engine, expire_on_commit=False)
    now = dt.datetime.now(dt.UTC)
    cache = ConfigurationCache()
    with unit_of_work(sessions) as session:
        organisation = credentials.create_organisation(session, f"bench-{uuid.uuid4().hex[:6]}", now)
        session.commit()
    org_id = organisation.organisation.id
    with unit_of_work(sessions) as session:
        for document in POLICIES:
            policies.create_policy(session, org_id, document, now)
        token = enrollment.create_token(session, org_id, now, max_uses=devices).token
        session.commit()
    enrolled: list[tuple[str, str, str]] = []
    for index in range(devices):
        platform, version, model = PLATFORMS[index % len(PLATFORMS)]
        request = enrollment.EnrollmentRequest(token, platform, model, version, serial_number=f"SN{index:06d}")
        with unit_of_work(sessions) as session:
            result = enrollment.enroll(session, request, now, cache)
            session.commit()
        enrolled.append((result.device.id, result.device_token, platform))
    engine.dispose()
    return organisation, enrolled


def sample(platform: str, sequence: int, compliant: bool) -> dict[str, Any]:
    version = {"iOS": ("17.4", "16.5"), "android": ("14", "12"), "windows": ("10.0.22631.3007", "10.0.19041")}
    body: dict[str, Any] = {
        "sequence": sequence,
        "nonce": uuid.uuid4().hex,
        "sampledDateTime": dt.datetime.now(dt.UTC).isoformat(),
        "osVersion": version[platform][0 if compliant else 1],
        "passcodePresent": True,
        "storageEncrypted": True,
    }
    if platform == "iOS":
        body["compromised"] = False
    if platform == "windows":
        body["bitLockerEnabled"] = True
    return body


def start_server(url: str, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "POSTUREBRIDGE_MDM_DATABASE_URL": url, "POSTUREBRIDGE_LOG_LEVEL": "critical"}
    command = [sys.executable, "-m", "posturebridge", "serve", "mdm", "--port", str(port), "--data-dir", str(workdir)]
    process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("the MDM did not start")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0
