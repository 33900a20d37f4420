"""``posturebridge partner …``: run the delivery worker, inspect and retry dead letters, reconcile, list the
devices held back (out of scope, unlicensed) and the device-link conflicts, sync the directory scope.

Settings come from ``POSTUREBRIDGE_PARTNER_*`` (``posturebridge.partner.settings``); the partner database
defaults to ``partner.db`` in the data directory (``--data-dir`` or ``POSTUREBRIDGE_DATA_DIR``).
"""

from __future__ import annotations

import json
import logging
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker

from posturebridge.cli.common import load_settings
from posturebridge.common.clock import aware, utcnow
from posturebridge.common.database import make_engine, migrate, unit_of_work
from posturebridge.common.errors import CommandError, StartupError
from posturebridge.mdm.client import MdmApiError
from posturebridge.partner import bootstrap, link, queue, scope
from posturebridge.partner.graph_client import GraphError
from posturebridge.partner.reconcile import reconcile as run_reconcile
from posturebridge.partner.settings import PartnerSettings
from posturebridge.partner.worker import Worker

app = typer.Typer(
    help="The compliance partner service: delivery worker, dead letters, reconcile.", no_args_is_help=True
)
dead_app = typer.Typer(help="Items that failed too often or for good.", no_args_is_help=True)
app.add_typer(dead_app, name="dead-letters")

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Data directory (default ./.posturebridge).")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _settings(data_dir: Path | None) -> tuple[PartnerSettings, str]:
    common = load_settings(data_dir=data_dir)
    try:
        settings = PartnerSettings(data_dir=common.data_dir)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise StartupError(f"invalid partner setting {'.'.join(map(str, first['loc']))}: {first['msg']}") from None
    url = settings.database_url or common.database_url("partner")
    if url.startswith("sqlite"):
        common.data_dir.mkdir(parents=True, exist_ok=True)
    return settings, url


@app.command("worker")
def worker(
    data_dir: DataDir = None,
    no_feed: Annotated[bool, typer.Option("--no-feed", help="Deliver only; another worker reads the feed.")] = False,
) -> None:
    """Run the delivery worker until SIGINT/SIGTERM (the current round finishes and is recorded)."""
    settings, url = _settings(data_dir)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    runtime = bootstrap.build(settings, url)
    if not runtime.context.channels.names:
        runtime.close()
        raise CommandError("no delivery channel is configured: set POSTUREBRIDGE_PARTNER_TENANT_ID and _CLIENT_ID")
    loop = Worker(
        runtime.context, feed_wait=settings.feed_wait_seconds, idle=settings.idle_seconds, consume_feed=not no_feed
    )

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        loop.request_stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    typer.echo(f"partner worker {runtime.context.owner}: channels {', '.join(runtime.context.channels.names)}")
    try:
        loop.run()
    finally:
        runtime.close()


@dead_app.command("list")
def dead_list(data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    """Dead-lettered devices with the reason and the number of attempts."""
    with _partner_session(data_dir) as session:
        rows = [
            {
                "deviceId": item.device_id,
                "platform": item.platform,
                "channel": item.channel,
                "version": item.version,
                "attempts": item.attempts,
                "lastStatus": item.last_status,
                "reason": item.last_error,
                "since": str(aware(item.updated_at)),
            }
            for item in queue.dead_letters(session)
        ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    _table(f"{len(rows)} dead-lettered", rows, ("deviceId", "platform", "attempts", "lastStatus", "reason"))


@dead_app.command("retry")
def dead_retry(
    device: Annotated[list[str], typer.Argument(help="MDM device ids (none: all dead letters).")] = [],  # noqa: B006
    data_dir: DataDir = None,
) -> None:
    """Put dead-lettered devices back in the queue with a fresh attempt count."""
    with _partner_session(data_dir) as session:
        count = queue.retry_dead(session, utcnow(), device or None)
        session.commit()
    typer.echo(f"{count} dead-lettered item(s) queued again")


@app.command("shadow")
def shadow(
    data_dir: DataDir = None,
    history: Annotated[bool, typer.Option("--history", help="Every record, not only each device's newest.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """What shadow mode (POSTUREBRIDGE_PARTNER_SHADOW_MODE) would have written, and who would lose access."""
    with _partner_session(data_dir) as session:
        records = queue.shadow_records(session, latest_only=not history)
    if as_json:
        typer.echo(json.dumps(records, indent=2))
        return
    losing = sorted({lost["userPrincipalName"] for r in records for lost in r["lostAccess"]})
    table = Table(
        title=f"{len(records)} device(s) shadowed; {len(losing)} user(s) would lose access", title_justify="left"
    )
    for column in ("device", "Entra device", "would write", "directory now", "would lose access"):
        table.add_column(column)
    for record in records:
        before = record["directoryBefore"]
        now = "not in the directory" if before is None else f"isCompliant={before.get('isCompliant')}"
        lost = "; ".join(f"{x['userPrincipalName']}: {', '.join(x['policies'])}" for x in record["lostAccess"]) or (
            f"unknown ({record['error']})" if record["error"] else "nobody"
        )
        table.add_row(record["deviceId"], str(record["entraDeviceId"]), json.dumps(record["wouldWrite"]), now, lost)
    Console().print(table)


@app.command("reconcile")
def reconcile(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report the drift; change nothing.")] = False,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Compare the MDM with the directory's device records; queue a repair of every difference."""
    settings, url = _settings(data_dir)
    runtime = bootstrap.build(settings, url)
    try:
        if runtime.graph is None:
            raise CommandError("reconcile needs Graph: set POSTUREBRIDGE_PARTNER_TENANT_ID and _CLIENT_ID")
        ctx = runtime.context
        report = run_reconcile(ctx.sessions, ctx.mdm, runtime.graph, ctx.channels, utcnow(), dry_run=dry_run)
    except (MdmApiError, GraphError) as exc:
        raise CommandError(f"reconcile failed: {exc}") from None
    finally:
        runtime.close()
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2))
        return
    verb = "would queue" if dry_run else "queued"
    typer.echo(
        f"checked {report.checked} linked devices: {report.in_sync} in sync, {len(report.drifts)} drifted "
        f"({verb} {len(report.drifts) if dry_run else report.queued}), {report.unlinked} not linked to Entra"
    )
    for drift in report.drifts:
        shown = ", ".join(f"{name}: MDM {mdm} / directory {graph}" for name, (mdm, graph) in drift.differences.items())
        typer.echo(f"  {drift.device_id} ({drift.platform}, Entra {drift.entra_device_id}): {shown}")


@contextmanager
def _partner_session(data_dir: Path | None) -> Iterator[Session]:
    """A unit of work on the partner database, migrated first; the caller commits."""
    _, url = _settings(data_dir)
    engine = make_engine(url)
    try:
        migrate(engine, "partner")
        with unit_of_work(sessionmaker(engine, expire_on_commit=False)) as session:
            yield session
    finally:
        engine.dispose()


def _table(title: str, rows: list[dict[str, Any]], columns: tuple[str, ...]) -> None:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if row[c] is None else str(row[c]) for c in columns))
    Console().print(table)


@app.command("conflicts")
def conflicts(data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    """Device-link conflicts: one Entra device on two MDM devices, deleted in the directory, another owner."""
    with _partner_session(data_dir) as session:
        rows = [link.to_json(row) for row in link.conflicts(session)]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    columns = ("deviceId", "entraDeviceId", "serialNumber", "udid", "conflict", "detail", "since")
    _table(f"{len(rows)} device-link conflict(s)", rows, columns)


@app.command("devices")
def devices(
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
    show_all: Annotated[bool, typer.Option("--all", help="Every queued device, not only the held ones.")] = False,
) -> None:
    """Devices not reported on purpose (held) with the reason; with --all every device's delivery state."""
    with _partner_session(data_dir) as session:
        items = queue.all_items(session) if show_all else queue.held_items(session)
        rows = [
            {
                "deviceId": item.device_id,
                "platform": item.platform,
                "channel": item.channel,
                "state": item.state,
                "entraDeviceId": item.desired.get("entraDeviceId"),
                "reason": item.last_error,
                "since": str(aware(item.updated_at)),
            }
            for item in items
        ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    title = f"{len(rows)} device(s)" if show_all else f"{len(rows)} device(s) not reported"
    _table(title, rows, ("deviceId", "platform", "state", "entraDeviceId", "reason", "since"))


@app.command("sync-directory")
def sync_directory(data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    """Read the users in the compliance partner's scope and their licences now, and show what changed."""
    settings, url = _settings(data_dir)
    runtime = bootstrap.build(settings, url)
    try:
        if runtime.context.gate is None:
            raise CommandError("the directory sync needs Graph: set POSTUREBRIDGE_PARTNER_TENANT_ID and _CLIENT_ID")
        report = runtime.context.gate.sync(utcnow(), "command")
    except (MdmApiError, GraphError) as exc:
        raise CommandError(f"directory sync failed: {exc}") from None
    finally:
        runtime.close()
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2))
        return
    summary = report.to_json()
    typer.echo(
        f"{summary['usersInScope']} user(s) in scope; Entra ID P1: {'yes' if report.snapshot.entra_p1 else 'no'}; "
        f"platforms: {', '.join(summary['onboarded']) or 'none'}; {len(report.requeued)} held device(s) queued again"
    )
    for change in report.changes:
        typer.echo(f"  {change}")


@app.command("directory-syncs")
def directory_syncs(
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many of the newest syncs.")] = 20,
) -> None:
    """The directory syncs that ran (on the MDM's request, on the schedule, by command) and what each changed."""
    with _partner_session(data_dir) as session:
        rows = scope.history(session, limit)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    shown = [
        {**row, "changes": "; ".join(f"{c['kind']} {c['subject']} ({c['detail']})" for c in row["changes"]) or "-"}
        for row in rows
    ]
    _table(f"{len(rows)} directory sync(s)", shown, ("startedAt", "trigger", "usersInScope", "entraP1", "changes"))
