"""``posturebridge mdm partner …``: the compliance partner integration as the MDM administrator sees it.

``enable`` (needs the Intelligence opt-in and the Entra integration in Directory Services) registers the
organisation with the partner service and prints the admin consent URL for a tenant administrator;
``complete`` finishes the setup after consent; ``status`` shows the state and the last error.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated

import typer

from posturebridge.cli.mdm import ApiKeyOption, ClientIdOption, ClientSecretOption, UrlOption, _client, _refused
from posturebridge.mdm.client import MdmApiError, MdmClient
from posturebridge.mdm.schemas import CompliancePartnerOut

app = typer.Typer(help="The compliance partner integration: enable, complete setup, status.", no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _show(found: CompliancePartnerOut, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(found.model_dump(mode="json", by_alias=True), indent=2))
        return
    tenant = f" (tenant {found.tenant_id})" if found.tenant_id else ""
    typer.echo(f"compliance partner: {found.state}{tenant}")
    if found.platforms:
        typer.echo(f"platforms: {', '.join(found.platforms)}")
    if found.last_heartbeat_date_time:
        typer.echo(f"last heartbeat: {found.last_heartbeat_date_time.isoformat()}")
    if found.last_error:
        typer.echo(f"last error: {found.last_error}")
    if found.admin_consent_url and found.state == "consentPending":
        typer.echo("a tenant administrator opens this URL to grant admin consent, then run `complete`:")
        typer.echo(found.admin_consent_url)


def _ask(
    url: str,
    client_id: str | None,
    client_secret: str | None,
    api_key: str | None,
    call: Callable[[MdmClient], CompliancePartnerOut],
) -> CompliancePartnerOut:
    with _client(url, client_id, client_secret, api_key) as mdm:
        try:
            return call(mdm)
        except MdmApiError as error:
            raise _refused(error) from None


@app.command("enable")
def enable(
    url: UrlOption,
    client_id: ClientIdOption = None,
    client_secret: ClientSecretOption = None,
    api_key: ApiKeyOption = None,
    platform: Annotated[
        list[str], typer.Option("--platform", help="iOS, iPadOS, android, macOS, linux (default iOS, android, macOS).")
    ] = [],  # noqa: B006
    as_json: JsonFlag = False,
) -> None:
    """Register with the compliance partner and print the admin consent URL."""
    found = _ask(url, client_id, client_secret, api_key, lambda mdm: mdm.enable_compliance_partner(platform))
    _show(found, as_json)


@app.command("complete")
def complete(
    url: UrlOption,
    client_id: ClientIdOption = None,
    client_secret: ClientSecretOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Complete the setup after admin consent: the partner provisions Intune and starts delivering."""
    found = _ask(url, client_id, client_secret, api_key, MdmClient.complete_compliance_partner_setup)
    _show(found, as_json)
    if found.state == "failed":
        raise typer.Exit(1)


@app.command("status")
def status(
    url: UrlOption,
    client_id: ClientIdOption = None,
    client_secret: ClientSecretOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonFlag = False,
) -> None:
    """The integration's state, last heartbeat and last error, as the partner reports them."""
    _show(_ask(url, client_id, client_secret, api_key, MdmClient.compliance_partner), as_json)
