"""``posturebridge ca``: offline what-if and lint over exported Conditional Access policies, and export /
import of a tenant's policies through Graph.

Thin edge: parse arguments, call the conditional_access service functions, render. Bad input is
one line on stderr and exit code 2; never a traceback.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from posturebridge.cli.graph_access import GraphSession, GraphTarget
from posturebridge.common.errors import CommandError
from posturebridge.conditional_access import DirectorySnapshot, DocumentError, lint_policies
from posturebridge.conditional_access.whatif import (
    PolicySource,
    WhatIfRequest,
    evaluate_what_if,
    load_json_argument,
    load_policy_path,
)

app = typer.Typer(help="Conditional Access what-if and lint on exported policies.", no_args_is_help=True)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


def _split(values: list[str] | None) -> list[str]:
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def _load(policies: Path, directory: Path | None) -> tuple[PolicySource, DirectorySnapshot | None]:
    try:
        source = load_policy_path(policies)
        snapshot = DirectorySnapshot.from_graph(load_json_argument(str(directory))) if directory else None
    except (DocumentError, OSError, UnicodeDecodeError, ValueError) as exc:
        raise _fail(str(exc)) from None
    return source, snapshot


@app.command()
def whatif(
    policies: Annotated[Path, typer.Option("--policies", help="policy file, array, list response or folder")],
    user: Annotated[str, typer.Option("--user", help="user id or UPN")],
    app_id: Annotated[str, typer.Option("--app", help="resource application id")],
    directory: Annotated[Path | None, typer.Option("--directory", help="directory snapshot JSON")] = None,
    groups: Annotated[list[str] | None, typer.Option("--groups", help="group ids (repeat or comma-separate)")] = None,
    roles: Annotated[list[str] | None, typer.Option("--roles", help="directory role template ids")] = None,
    guest: Annotated[bool, typer.Option("--guest", help="the user is a B2B guest")] = False,
    user_action: Annotated[str | None, typer.Option("--user-action", help="urn:user:registerdevice, ...")] = None,
    auth_context: Annotated[list[str] | None, typer.Option("--auth-context", help="c1..c99")] = None,
    platform: Annotated[str | None, typer.Option("--platform", help="android, iOS, windows, macOS, linux")] = None,
    client_app: Annotated[str, typer.Option("--client-app", help="browser, mobileAppsAndDesktopClients, ...")] = (
        "browser"
    ),
    ip: Annotated[str | None, typer.Option("--ip")] = None,
    country: Annotated[str | None, typer.Option("--country", help="two-letter country code")] = None,
    sign_in_risk: Annotated[str, typer.Option("--sign-in-risk")] = "none",
    user_risk: Annotated[str, typer.Option("--user-risk")] = "none",
    insider_risk: Annotated[str, typer.Option("--insider-risk")] = "none",
    auth_flow: Annotated[str | None, typer.Option("--auth-flow", help="deviceCodeFlow, authenticationTransfer")] = None,
    device_json: Annotated[
        str | None, typer.Option("--device-json", help="Graph device properties: file or JSON")
    ] = None,
    no_device: Annotated[bool, typer.Option("--no-device", help="an unregistered device")] = False,
    mfa: Annotated[bool, typer.Option("--mfa", help="MFA is already satisfied")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Evaluate one sign-in against every policy and explain each result."""
    if device_json is not None and no_device:
        raise _fail("--device-json and --no-device are mutually exclusive")
    source, snapshot = _load(policies, directory)
    if source.file_errors:
        raise _fail(source.file_errors[0])
    device: dict[str, Any] | None = None
    if device_json is not None:
        try:
            loaded = load_json_argument(device_json)
        except (DocumentError, OSError, ValueError) as exc:
            raise _fail(f"--device-json: {exc}") from None
        if not isinstance(loaded, dict):
            raise _fail("--device-json must be a JSON object of Graph device properties")
        device = loaded
    request = WhatIfRequest(
        user=user,
        app=app_id,
        groups=_split(groups),
        roles=_split(roles),
        user_type="guest" if guest else None,
        user_action=user_action,
        authentication_context=_split(auth_context),
        platform=platform,
        client_app=client_app,
        ip=ip,
        country=country,
        sign_in_risk=sign_in_risk,
        user_risk=user_risk,
        insider_risk=insider_risk,
        authentication_flow=auth_flow,
        device=device,
        mfa=mfa,
    )
    decision = evaluate_what_if(source, request, snapshot, datetime.now(UTC))
    if as_json:
        payload = decision.to_json()
        typer.echo(json.dumps(payload, indent=2))
        return
    console = Console()
    table = Table(title=f"What if: {user} -> {app_id}")
    for column in ("Policy", "State", "Result", "Controls", "Why"):
        table.add_column(column, overflow="fold")
    for result in decision.policies:
        failing = next((c for c in result.conditions if not c.satisfied), None)
        if failing is not None:
            why = f"{failing.condition}: {failing.detail}"
        elif result.controls:
            why = "; ".join(c.detail for c in result.controls)
        else:
            why = "; ".join(c.detail for c in result.conditions) or "-"
        table.add_row(
            result.display_name,
            result.state,
            result.result.value,
            ", ".join(result.enforced_grant_controls) or "-",
            why,
        )
    console.print(table)
    console.print(
        f"decision: {decision.access.value}  conditionalAccessStatus: {decision.conditional_access_status}"
        f"  errorCode: {decision.error_code}" + (f"  ({decision.failure_reason})" if decision.failure_reason else "")
    )


@app.command()
def lint(
    policies: Annotated[Path, typer.Argument(help="policy file, array, list response or folder")],
    directory: Annotated[Path | None, typer.Option("--directory", help="directory snapshot JSON")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Report every problem in a policy set; exit 1 when any is an error."""
    source, snapshot = _load(policies, directory)
    findings = lint_policies(source.policies, snapshot)
    if as_json:
        rows = [
            {"policy": f.policy, "code": f.code, "severity": f.severity, "message": f.message, "path": f.path}
            for f in findings
        ]
        typer.echo(json.dumps({"fileErrors": source.file_errors, "findings": rows}, indent=2))
    else:
        console = Console()
        for error in source.file_errors:
            console.print(f"[red]error[/red]: {error}")
        table = Table(title=f"{len(source.policies)} policies, {len(findings)} findings")
        for column in ("Severity", "Policy", "Code", "Path", "Message"):
            table.add_column(column, overflow="fold")
        for f in findings:
            table.add_row(f.severity, f.policy, f.code, f.path, f.message)
        console.print(table)
    if source.file_errors or any(f.severity == "error" for f in findings):
        raise typer.Exit(code=1)


# ------------------------------------------------------------------ export / import through Graph

READ_ONLY_FIELDS = ("id", "createdDateTime", "modifiedDateTime", "deletedDateTime", "@odata.context")


def _graph_target(
    demo: Path | None,
    authority: str | None,
    graph_url: str,
    client_id: str | None,
    client_secret: str | None,
    ca_bundle: str | None,
) -> GraphTarget:
    if demo is not None:
        return GraphTarget.from_demo(demo)
    if not (authority and client_id and client_secret):
        raise CommandError("give --demo DEMO_JSON, or --authority, --client-id and --client-secret")
    return GraphTarget(authority, graph_url, client_id, client_secret, ca_bundle)


def _file_name(item: dict[str, Any]) -> str:
    name = "".join(ch if ch.isalnum() or ch in "-_ " else "_" for ch in str(item.get("displayName", "policy")))
    return f"{name.strip()[:80]}-{item['id']}.json"


DemoOption = Annotated[Path | None, typer.Option("--demo", help="demo.json of a local posturebridge")]
AuthorityOption = Annotated[str | None, typer.Option("--authority", help="https://login.microsoftonline.com/TENANT")]
GraphOption = Annotated[str, typer.Option("--graph-url", help="Graph base URL")]
ClientIdOption = Annotated[str | None, typer.Option("--client-id", help="app with Policy.Read.All")]
SecretOption = Annotated[str | None, typer.Option("--client-secret", envvar="POSTUREBRIDGE_CLIENT_SECRET")]
CaBundleOption = Annotated[str | None, typer.Option("--ca-bundle", help="CA file to trust (local directory)")]


@app.command("export")
def export_policies(
    to: Annotated[Path, typer.Option("--to", help="folder to write policies/ and namedLocations/ into")],
    demo: DemoOption = None,
    authority: AuthorityOption = None,
    graph_url: GraphOption = "https://graph.microsoft.com/v1.0",
    client_id: ClientIdOption = None,
    client_secret: SecretOption = None,
    ca_bundle: CaBundleOption = None,
) -> None:
    """Write every CA policy and named location of a tenant (the local directory or real Graph) to files."""
    target = _graph_target(demo, authority, graph_url, client_id, client_secret, ca_bundle)
    with GraphSession(target) as graph:
        locations = list(graph.list("/identity/conditionalAccess/namedLocations"))
        policies = list(graph.list("/identity/conditionalAccess/policies"))
    for folder, items in (("namedLocations", locations), ("policies", policies)):
        (to / folder).mkdir(parents=True, exist_ok=True)
        for item in items:
            (to / folder / _file_name(item)).write_text(json.dumps(item, indent=2) + "\n")
    typer.echo(f"exported {len(policies)} policies and {len(locations)} named locations to {to}")


@app.command("import")
def import_policies(
    source: Annotated[Path, typer.Argument(help="folder written by `ca export` (policies/, namedLocations/)")],
    demo: DemoOption = None,
    authority: AuthorityOption = None,
    graph_url: GraphOption = "https://graph.microsoft.com/v1.0",
    client_id: ClientIdOption = None,
    client_secret: SecretOption = None,
    ca_bundle: CaBundleOption = None,
) -> None:
    """Create the exported named locations and policies in a tenant; location ids in policies are remapped."""
    try:
        locations = [load_json_argument(str(path)) for path in sorted((source / "namedLocations").glob("*.json"))]
        policies = [load_json_argument(str(path)) for path in sorted((source / "policies").glob("*.json"))]
    except (DocumentError, OSError, UnicodeDecodeError, ValueError) as exc:
        raise CommandError(f"cannot read {source}: {exc}") from None
    if not policies and not locations:
        raise CommandError(f"{source} has no policies/*.json or namedLocations/*.json")
    target = _graph_target(demo, authority, graph_url, client_id, client_secret, ca_bundle)
    remap: dict[str, str] = {}
    with GraphSession(target) as graph:
        for location in locations:
            created = graph.post(
                "/identity/conditionalAccess/namedLocations",
                {k: v for k, v in location.items() if k not in READ_ONLY_FIELDS},
            )
            remap[str(location.get("id"))] = str(created["id"])
        for policy in policies:
            body = json.loads(json.dumps({k: v for k, v in policy.items() if k not in READ_ONLY_FIELDS}))
            for key in ("includeLocations", "excludeLocations"):
                ids = ((body.get("conditions") or {}).get("locations") or {}).get(key)
                if ids:
                    body["conditions"]["locations"][key] = [remap.get(i, i) for i in ids]
            graph.post("/identity/conditionalAccess/policies", body)
    typer.echo(f"imported {len(policies)} policies and {len(locations)} named locations")
