"""``posturebridge mdm workflow …`` and ``posturebridge mdm connector …``: workflow rules, their runs and
custom connectors of a running MDM, over its REST API (``posturebridge.mdm.client``).

Rules and connectors are JSON documents in the API's wire form (``-`` reads stdin). A connector's secret
can come from ``--secret`` / ``POSTUREBRIDGE_MDM_CONNECTOR_SECRET`` instead of the file; it is never
printed. Errors are one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from posturebridge.cli.mdm import (
    ApiKeyOption,
    ClientIdOption,
    ClientSecretOption,
    MdmCommandError,
    UrlOption,
    ask,
    read_json,
)

workflow_app = typer.Typer(help="Workflow rules (trigger -> actions) and their runs.", no_args_is_help=True)
connector_app = typer.Typer(help="Custom connectors (HTTP actions for workflow rules).", no_args_is_help=True)

DocumentArgument = Annotated[Path, typer.Argument(help="JSON document ('-' for stdin).", allow_dash=True)]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _object(document: Any, file: Path) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise MdmCommandError(f"{file} must hold a JSON object")
    return document


@workflow_app.command("add")
def workflow_add(
    file: DocumentArgument,
    url: UrlOption,
    client_id: ClientIdOption = None,
    client_secret: ClientSecretOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Add a rule from ``{"name", "enabled", "trigger": {"type", …}, "actions": [{"type", …}]}``; prints its id."""
    document = _object(read_json(file), file)
    rule = ask(
        url,
        client_id,
        client_secret,
        api_key,
        lambda client: client.create_workflow_rule(
            str(document.get("name", "")),
            document.get("trigger") or {},
            list(document.get("actions") or []),
            enabled=bool(document.get("enabled", True)),
        ),
    )
    typer.echo(rule.id)


@workflow_app.command("list")
def workflow_list(
    url: UrlOption,
    client_id: ClientIdOption = None,
    client_secret: ClientSecretOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonFlag = False,
) -> None:
    """List workflow rules."""
    rules = ask(url, client_id, client_secret, api_key, lambda client: client.list_workflow_rules())
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json", by_alias=True) for r in rules], indent=2))
        return
    for rule in rules:
        actions = ",".join(str(a.get("type")) for a in rule.actions)
        state = "enabled" if rule.enabled else "disabled"
        typer.echo(f"{rule.id}\t{state}\t{rule.trigger.get('type')} -> {actions}\t{rule.name}")


@workflow_app.command("runs")
def workflow_runs(
    url: UrlOption,
    client_id: ClientIdOption = None,
    client_secret: ClientSecretOption = None,
    api_key: ApiKeyOption = None,
    rule: Annotated[str | None, typer.Option("--rule", help="Rule id.")] = None,
    device: Annotated[str | None, typer.Option("--device", help="MDM device id.")] = None,
    status: Annotated[str | None, typer.Option("--status", help="pending, running, succeeded or failed.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 100,
    as_json: JsonFlag = False,
) -> None:
    """What the rules did, newest first: rule, device, trigger, action, status, outcome or error."""
    runs = ask(
        url,
        client_id,
        client_secret,
        api_key,
        lambda client: client.workflow_runs(rule_id=rule, device_id=device, status=status, limit=limit),
    )
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json", by_alias=True) for r in runs], indent=2))
        return
    table = Table(show_edge=False)
    for column in ("time", "rule", "device", "trigger", "action", "status", "attempts", "outcome / error"):
        table.add_column(column)
    for run in runs:
        table.add_row(
            run.created_date_time.isoformat(),
            run.rule_name,
            run.device_id,
            run.trigger_type,
            run.action_type,
            run.status,
            str(run.attempts),
            run.error or run.outcome or "",
        )
    Console(width=220).print(table)


@connector_app.command("add")
def connector_add(
    file: DocumentArgument,
    url: UrlOption,
    client_id: ClientIdOption = None,
    client_secret: ClientSecretOption = None,
    api_key: ApiKeyOption = None,
    secret: Annotated[
        str | None,
        typer.Option("--secret", envvar="POSTUREBRIDGE_MDM_CONNECTOR_SECRET", help="Password, token or client secret."),
    ] = None,
) -> None:
    """Add a custom connector (name, method, urlTemplate, headers, bodyTemplate, auth); prints its id."""
    document = _object(read_json(file), file)
    if secret is not None:
        document["auth"] = {**(document.get("auth") or {}), "secret": secret}
    connector = ask(url, client_id, client_secret, api_key, lambda client: client.create_connector(document))
    typer.echo(connector.id)


@connector_app.command("list")
def connector_list(
    url: UrlOption,
    client_id: ClientIdOption = None,
    client_secret: ClientSecretOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """List custom connectors (secrets are never shown)."""
    found = ask(url, client_id, client_secret, api_key, lambda client: client.list_connectors())
    for connector in found:
        typer.echo(
            f"{connector.id}\t{connector.method}\t{connector.auth.type}\t{connector.name}\t{connector.url_template}"
        )
