"""``posturebridge mdm``: bootstrap an MDM organisation, manage policies and list devices.

``org create`` works on the MDM database directly (it is how the first credentials come to exist) and
prints the credentials once. Every other command talks to a running MDM over HTTP with ``--url`` and
organisation credentials (client credentials or an API key), through ``posturebridge.mdm.client``.
Errors are one line on stderr and a non-zero exit (``CommandError``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import sessionmaker

from posturebridge.cli.common import load_settings
from posturebridge.common.clock import utcnow
from posturebridge.common.database import make_engine, migrate, unit_of_work
from posturebridge.common.errors import CommandError
from posturebridge.mdm.client import DeviceQuery, MdmApiError, MdmClient
from posturebridge.mdm.service import credentials
from posturebridge.mdm.service.errors import MdmError

app = typer.Typer(help="The MDM: organisations, compliance policies, devices.", no_args_is_help=True)
org_app = typer.Typer(help="Organisations (the MDM's tenants).", no_args_is_help=True)
policy_app = typer.Typer(help="Compliance policies.", no_args_is_help=True)
devices_app = typer.Typer(help="The device inventory.", no_args_is_help=True)
token_app = typer.Typer(help="Enrolment tokens.", no_args_is_help=True)
app.add_typer(org_app, name="org")
app.add_typer(policy_app, name="policy")
app.add_typer(devices_app, name="devices")
app.add_typer(token_app, name="enrollment-token")


T = TypeVar("T")


class MdmCommandError(CommandError):
    """An MDM command failed for a reason the user can act on."""


UrlOption = Annotated[str, typer.Option("--url", envvar="POSTUREBRIDGE_MDM_URL", help="MDM base URL.")]
ClientIdOption = Annotated[
    str | None, typer.Option("--client-id", envvar="POSTUREBRIDGE_MDM_CLIENT_ID", help="OAuth client id.")
]
ClientSecretOption = Annotated[
    str | None, typer.Option("--client-secret", envvar="POSTUREBRIDGE_MDM_CLIENT_SECRET", help="OAuth client secret.")
]
ApiKeyOption = Annotated[
    str | None, typer.Option("--api-key", envvar="POSTUREBRIDGE_MDM_API_KEY", help="API key (aw-tenant-code).")
]


def _client(url: str, client_id: str | None, client_secret: str | None, api_key: str | None) -> MdmClient:
    if api_key:
        return MdmClient.with_api_key(url, api_key)
    if client_id and client_secret:
        return MdmClient.with_client_credentials(url, client_id, client_secret)
    raise MdmCommandError("give --api-key, or --client-id and --client-secret (or their POSTUREBRIDGE_MDM_* variables)")


def _refused(error: MdmApiError) -> MdmCommandError:
    if error.status_code == 0:
        return MdmCommandError(error.message)
    field = f" (field {error.target})" if error.target else ""
    return MdmCommandError(f"the MDM refused: {error.message}{field} [{error.code}, HTTP {error.status_code}]")


def ask(
    url: str, client_id: str | None, client_secret: str | None, api_key: str | None, work: Callable[[MdmClient], T]
) -> T:
    """``work`` with a client of the MDM at ``url``; a refusal becomes a one-line error."""
    with _client(url, client_id, client_secret, api_key) as client:
        try:
            return work(client)
        except MdmApiError as error:
            raise _refused(error) from None


def read_json(file: Path) -> Any:
    """The JSON document in ``file`` (``-``: stdin), or a one-line error."""
    try:
        text = typer.get_text_stream("stdin").read() if str(file) == "-" else file.read_text()
        return json.loads(text)
    except OSError as error:
        raise MdmCommandError(f"cannot read {file}: {error.strerror or error}") from None
    except ValueError as error:
        raise MdmCommandError(f"{file} is not valid JSON: {error}") from None


@org_app.command("create")
def org_create(
    name: Annotated[str, typer.Argument(help="Organisation name, unique in this MDM.")],
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Data directory (SQLite default).")] = None,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="MDM database URL (default: SQLite in the data directory).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the credentials as JSON.")] = False,
) -> None:
    """Create an organisation in the MDM database and print its API credentials (shown only once)."""
    settings = load_settings(data_dir=data_dir, mdm_database_url=database_url)
    if database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url("mdm"))
    try:
        migrate(engine, "mdm")
        with unit_of_work(sessionmaker(engine, expire_on_commit=False)) as session:
            created = credentials.create_organisation(session, name, utcnow())
            session.commit()
    except MdmError as error:
        raise MdmCommandError(error.message) from None
    finally:
        engine.dispose()
    result = {
        "organisationId": created.organisation.id,
        "name": created.organisation.name,
        "clientId": created.client.id,
        "clientSecret": created.client.secret,
        "apiKey": created.api_key.secret,
    }
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    console = Console()
    console.print(f"organisation {result['name']} ({result['organisationId']})")
    for key in ("clientId", "clientSecret", "apiKey"):
        console.print(f"{key}: {result[key]}", markup=False)
    console.print("Keep the secret and the API key now: they are not shown again.")


@policy_app.command("add")
def policy_add(
    file: Annotated[Path, typer.Argument(help="Compliance policy JSON ('-' for stdin).", allow_dash=True)],
    url: UrlOption,
    client_id: ClientIdOption = None,
    client_secret: ClientSecretOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Add a compliance policy from a JSON document; prints the new policy's id."""
    document = read_json(file)
    policy = ask(url, client_id, client_secret, api_key, lambda client: client.create_policy(document))
    typer.echo(policy.id)


@policy_app.command("list")
def policy_list(
    url: UrlOption,
    client_id: ClientIdOption = None,
    client_secret: ClientSecretOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """List compliance policies."""
    policies = ask(url, client_id, client_secret, api_key, lambda client: client.list_policies())
    for policy in policies:
        typer.echo(f"{policy.id}\t{policy.platform}\t{policy.display_name}")


@token_app.command("create")
def token_create(
    url: UrlOption,
    client_id: ClientIdOption = None,
    client_secret: ClientSecretOption = None,
    api_key: ApiKeyOption = None,
    user_id: Annotated[str | None, typer.Option("--user-id")] = None,
    platform: Annotated[str | None, typer.Option("--platform")] = None,
    ownership: Annotated[str, typer.Option("--ownership")] = "corporate",
    max_uses: Annotated[int, typer.Option("--max-uses")] = 1,
    hours: Annotated[int, typer.Option("--hours", help="Validity in hours.")] = 72,
) -> None:
    """Create an enrolment token; prints the token (shown only once)."""
    with _client(url, client_id, client_secret, api_key) as client:
        try:
            token = client.create_enrollment_token(
                user_id=user_id, platform=platform, ownership=ownership, max_uses=max_uses, expires_in_hours=hours
            )
        except MdmApiError as error:
            raise _refused(error) from None
    typer.echo(token.token)


@devices_app.command("list")
def devices_list(
    url: UrlOption,
    client_id: ClientIdOption = None,
    client_secret: ClientSecretOption = None,
    api_key: ApiKeyOption = None,
    platform: Annotated[str | None, typer.Option("--platform")] = None,
    compliance_state: Annotated[str | None, typer.Option("--compliance-state")] = None,
    ownership: Annotated[str | None, typer.Option("--ownership")] = None,
    user: Annotated[str | None, typer.Option("--user", help="User name.")] = None,
    registered: Annotated[
        bool | None, typer.Option("--registered/--unregistered", help="Registered in Entra or not.")
    ] = None,
    output: Annotated[str, typer.Option("--output", "-o", help="table, json or csv")] = "table",
) -> None:
    """List devices with their compliance state."""
    if output not in {"table", "json", "csv"}:
        raise MdmCommandError(f"unknown output {output!r}; choose table, json or csv")
    query = DeviceQuery(
        platform=platform,
        compliance_state=compliance_state,
        ownership=ownership,
        user_name=user,
        registered_in_entra=registered,
    )
    with _client(url, client_id, client_secret, api_key) as client:
        try:
            if output in {"json", "csv"}:
                typer.echo(client.export_devices(output, query), nl=False)  # type: ignore[arg-type]
                return
            found = list(client.iter_devices(query))
        except MdmApiError as error:
            raise _refused(error) from None
    table = Table(show_edge=False)
    for column in ("id", "platform", "os", "ownership", "user", "compliance", "entra device", "last seen"):
        table.add_column(column)
    for device in found:
        row: list[Any] = [
            device.id,
            device.platform,
            device.os_version or "",
            device.ownership,
            device.user_name or "",
            device.compliance_state,
            device.entra_device_id or "",
            device.last_seen_date_time.isoformat() if device.last_seen_date_time else "",
        ]
        table.add_row(*row)
    Console(width=200).print(table)
