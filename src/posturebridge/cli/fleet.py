"""``posturebridge fleet simulate``: many simulated devices against a running MDM, with live progress.

The credential comes from the flags (an enrolment token, or organisation credentials from which the
command makes a token for the whole fleet) or from ``<data-dir>/demo.json`` (its ``mdm`` section, written
by ``up --seed demo``). Everything expected is one line and a non-zero exit; Ctrl-C or SIGTERM stops the
devices after their requests in flight and prints the summary.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from posturebridge.cli.common import load_settings
from posturebridge.device.agent import BrokerApplication
from posturebridge.device.fleet import (
    DEFAULT_MIX,
    Fleet,
    FleetConfig,
    FleetError,
    FleetSummary,
    RegistrationTarget,
    parse_platform_mix,
)
from posturebridge.mdm.async_client import AsyncMdmClient
from posturebridge.mdm.client import MdmApiError, MdmClient

app = typer.Typer(help="Simulated device fleets.", no_args_is_help=True)
REFRESH_S = 0.5
TOKEN_HOURS = 24


@dataclass(frozen=True)
class FleetTarget:
    """Where the fleet enrols and with what."""

    mdm_url: str
    enrollment_token: str
    user_names: tuple[str, ...] = ()
    registration: RegistrationTarget | None = None


def _demo(data_dir: Path) -> dict[str, Any]:
    try:
        content = json.loads((data_dir / "demo.json").read_text())
    except (OSError, ValueError):
        return {}
    return content if isinstance(content, dict) else {}


def _demo_mdm(data_dir: Path) -> dict[str, Any] | None:
    section = _demo(data_dir).get("mdm")
    return section if isinstance(section, dict) else None


def demo_registration(data_dir: Path) -> RegistrationTarget | None:
    """The directory, broker and user accounts of demo.json, for devices that register; None without them."""
    demo = _demo(data_dir)
    broker, users = demo.get("broker"), demo.get("users")
    if not isinstance(broker, dict) or not isinstance(users, list) or not demo.get("directory_url"):
        return None
    accounts = {
        str(user["userPrincipalName"]).split("@")[0]: (str(user["userPrincipalName"]), str(user["password"]))
        for user in users
        if isinstance(user, dict) and user.get("userPrincipalName") and user.get("password")
    }
    return RegistrationTarget(
        directory_url=str(demo["directory_url"]),
        tenant_id=str(demo["tenant_id"]),
        broker=BrokerApplication(str(broker["client_id"]), str(broker["redirect_uri"])),
        accounts=accounts,
        ca_bundle=demo.get("ca_bundle"),
    )


def resolve_target(
    *,
    devices: int,
    data_dir: Path,
    default_url: str,
    mdm_url: str | None = None,
    enrollment_token: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    api_key: str | None = None,
) -> FleetTarget:
    """The MDM and an enrolment token good for `devices` enrolments, from the flags or demo.json."""
    demo = _demo_mdm(data_dir) if not (enrollment_token or api_key or (client_id and client_secret)) else None
    url = mdm_url or (str(demo["url"]) if demo and demo.get("url") else default_url)
    if enrollment_token:
        return FleetTarget(url, enrollment_token)
    users: tuple[str, ...] = ()
    if demo is not None:
        client_id, client_secret = demo.get("client_id"), demo.get("client_secret")
        users = tuple(str(name) for name in demo.get("user_names", ()))
    if api_key:
        admin = MdmClient.with_api_key(url, api_key, timeout=10.0)
    elif client_id and client_secret:
        admin = MdmClient.with_client_credentials(url, client_id, client_secret, timeout=10.0)
    else:
        raise FleetError(
            "no MDM credentials: give --enrollment-token, --client-id and --client-secret, or --api-key, "
            f"or start the demo first (posturebridge up --seed demo; {data_dir / 'demo.json'} has no mdm section)"
        )
    with admin:
        try:
            token = admin.create_enrollment_token(max_uses=devices, expires_in_hours=TOKEN_HOURS).token
        except MdmApiError as error:
            if error.status_code == 0:
                raise FleetError(f"the MDM at {url} is not reachable") from None
            if error.status_code in (400, 401, 403):
                raise FleetError(f"the MDM at {url} refused the credentials: {error.message}") from None
            raise FleetError(f"the MDM could not make an enrolment token: {error.message} [{error.code}]") from None
    if token is None:
        raise FleetError("the MDM's answer carries no enrolment token")
    return FleetTarget(url, token, users, demo_registration(data_dir) if demo is not None else None)


async def run_fleet(
    target: FleetTarget,
    config: FleetConfig,
    *,
    on_progress: Callable[[FleetSummary], None] | None = None,
) -> FleetSummary:
    """Run a fleet until its duration ends or SIGINT/SIGTERM; `on_progress(summary)` every half second."""
    limits = httpx.Limits(max_connections=config.concurrency, max_keepalive_connections=config.concurrency)
    async with (
        httpx.AsyncClient(timeout=30.0, limits=limits, trust_env=False) as http,
        AsyncMdmClient(target.mdm_url, http=http) as client,
    ):
        fleet = Fleet(config, client, clock=lambda: dt.datetime.now(dt.UTC))
        loop = asyncio.get_running_loop()
        runner = asyncio.create_task(fleet.run())

        def interrupt() -> None:
            if fleet.stopping:  # a second Ctrl-C: do not wait for requests in flight
                runner.cancel()
            fleet.stop()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, interrupt)
        try:
            while not runner.done():
                await asyncio.wait([runner], timeout=REFRESH_S)
                if on_progress is not None:
                    on_progress(fleet.summary())
            try:
                return await runner
            except asyncio.CancelledError:
                return fleet.summary()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)


class _Progress:
    """The live view: counts, the sample rate over the last refresh, compliance and errors."""

    def __init__(self, target: FleetTarget) -> None:
        self._target = target
        self._last: tuple[float, int] = (time.monotonic(), 0)
        self.live: Live | None = None

    def __call__(self, summary: FleetSummary) -> None:
        now = time.monotonic()
        then, samples = self._last
        rate = (summary.samples - samples) / (now - then) if now > then else 0.0
        self._last = (now, summary.samples)
        if self.live is not None:
            self.live.update(render(summary, f"fleet → {self._target.mdm_url}", rate))


def render(summary: FleetSummary, title: str, rate: float | None = None) -> Group:
    table = Table(title=title, title_justify="left", show_header=False, show_edge=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("devices enrolled", f"{summary.enrolled} / {summary.devices}")
    if summary.registered:
        table.add_row("registered in Entra", str(summary.registered))
    table.add_row("samples", f"{summary.samples} ({summary.accepted} accepted), {summary.flips} posture changes")
    shown_rate = summary.samples_per_second if rate is None else rate
    table.add_row("samples/s", f"{shown_rate:,.1f}")
    if summary.latency_p50_ms is not None:
        table.add_row("check-in latency", f"p50 {summary.latency_p50_ms} ms, p99 {summary.latency_p99_ms} ms")
    table.add_row("compliance", ", ".join(f"{state} {count}" for state, count in summary.compliance.items()) or "-")
    errors = Text("none") if not summary.errors else Text(", ".join(f"{k}: {v}" for k, v in summary.errors.items()))
    table.add_row("errors", errors)
    return Group(table)


@app.command("simulate")
def simulate(
    devices: Annotated[int, typer.Option("--devices", help="How many devices to simulate.")] = 20,
    platform_mix: Annotated[
        str, typer.Option("--platform-mix", help="Weights per platform, e.g. ios=40,android=30,macos=15,windows=15.")
    ] = DEFAULT_MIX,
    churn: Annotated[float, typer.Option(help="Posture changes per device per minute.")] = 0.5,
    duration: Annotated[float | None, typer.Option(help="Seconds to run (default: until Ctrl-C).")] = None,
    interval: Annotated[float, typer.Option(help="Seconds between one device's posture samples.")] = 10.0,
    concurrency: Annotated[int, typer.Option(help="Requests in flight at most.")] = 64,
    mdm_url: Annotated[str | None, typer.Option("--mdm-url", envvar="POSTUREBRIDGE_MDM_URL", help="MDM URL.")] = None,
    enrollment_token: Annotated[
        str | None,
        typer.Option("--enrollment-token", envvar="POSTUREBRIDGE_FLEET_ENROLLMENT_TOKEN", help="Enrolment token."),
    ] = None,
    client_id: Annotated[str | None, typer.Option("--client-id", envvar="POSTUREBRIDGE_MDM_CLIENT_ID")] = None,
    client_secret: Annotated[
        str | None, typer.Option("--client-secret", envvar="POSTUREBRIDGE_MDM_CLIENT_SECRET")
    ] = None,
    api_key: Annotated[str | None, typer.Option("--api-key", envvar="POSTUREBRIDGE_MDM_API_KEY")] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Where demo.json is.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed, for a repeatable run.")] = None,
    register_fraction: Annotated[
        float, typer.Option(help="Share of devices that also register in Entra through the broker (needs demo.json).")
    ] = 0.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON, no live view.")] = False,
    quiet: Annotated[bool, typer.Option(help="No live view; the summary only.")] = False,
    companion: Annotated[bool, typer.Option(hidden=True, help="Run as `up --fleet`'s companion process.")] = False,
) -> None:
    """Enrol DEVICES simulated devices in the MDM and send posture samples until the duration is over."""
    settings = load_settings(data_dir=data_dir)
    mix = parse_platform_mix(platform_mix)
    target = resolve_target(
        devices=devices,
        data_dir=settings.data_dir,
        default_url=settings.url("mdm"),
        mdm_url=mdm_url,
        enrollment_token=enrollment_token,
        client_id=client_id,
        client_secret=client_secret,
        api_key=api_key,
    )
    config = FleetConfig(
        devices=devices,
        mix=mix,
        enrollment_token=target.enrollment_token,
        churn=churn,
        interval=interval,
        duration=duration,
        concurrency=concurrency,
        user_names=target.user_names,
        seed=seed,
        register_fraction=register_fraction,
        registration=target.registration,
    )
    console = Console()
    if as_json or quiet or companion:
        summary = asyncio.run(run_fleet(target, config))
    else:
        progress = _Progress(target)
        with Live(console=console, refresh_per_second=4, transient=True) as live:
            progress.live = live
            summary = asyncio.run(run_fleet(target, config, on_progress=progress))
    if as_json:
        typer.echo(json.dumps(summary.to_dict(), indent=2))
    else:
        console.print(render(summary, f"fleet summary ({summary.elapsed_s:.1f} s)"))
    if companion:
        # `up` stops within about a second; tearing down this interpreter's imports can take longer than the
        # fleet's own stop on a loaded machine, and nothing is left to clean up: the clients are closed.
        sys.stdout.flush()
        os._exit(0)
