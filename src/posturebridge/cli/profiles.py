"""`posturebridge profiles`: print the device configuration that routes sign-ins through the broker.

Thin: parse options, call one builder in `posturebridge.device.profiles`, render. Bad input ends in
one ``error: ...`` line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from posturebridge.device.profiles import (
    AdminNote,
    AppConfigEntry,
    AppConfigPair,
    MicrosoftSsoOptions,
    ProfileError,
    android_boxer_config,
    sso_extension_profile,
)

_USAGE_ERROR = 2
# Unknown options and stray arguments reach the command in ctx.args, so that they too are reported as
# one line rather than as Click's usage block.
_LENIENT_PARSING = {"ignore_unknown_options": True, "allow_extra_args": True}


app = typer.Typer(
    name="profiles",
    help="Build the SSO extension profile (iOS, macOS) and the Boxer app configuration (Android).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command("sso-extension", context_settings=_LENIENT_PARSING)
def sso_extension(
    ctx: typer.Context,
    platform: Annotated[str | None, typer.Option(help="ios or macos.", show_default=False)] = None,
    out: Annotated[
        str | None, typer.Option(help="Write the .mobileconfig here instead of stdout.", show_default=False)
    ] = None,
    organisation: Annotated[str | None, typer.Option(help="PayloadOrganization.", show_default=False)] = None,
    identifier: Annotated[
        str | None,
        typer.Option(help="Reverse-DNS PayloadIdentifier [default: com.posturebridge.sso-extension.<platform>]."),
    ] = None,
    allow_app: Annotated[
        list[str] | None, typer.Option(help="Bundle id of a non-MSAL app allowed to use SSO (repeat).")
    ] = None,
    allow_app_prefix: Annotated[
        list[str] | None,
        typer.Option(help="Bundle-id prefix allowed to use SSO; replaces the default (repeat)."),
    ] = None,
    block_app: Annotated[list[str] | None, typer.Option(help="Bundle id excluded from SSO (repeat).")] = None,
    sovereign_url: Annotated[
        list[str] | None,
        typer.Option(help="Sovereign-cloud sign-in URL to add, as Microsoft lists it (repeat)."),
    ] = None,
    reproducible: Annotated[
        bool, typer.Option("--reproducible", help="Derive PayloadUUIDs from the identifier.")
    ] = False,
) -> None:
    """Apple configuration profile with the Microsoft Enterprise SSO plug-in (deliver it through an MDM)."""
    _refuse_extra(ctx)
    if platform is None:
        _fail("--platform is required (ios or macos)")
    try:
        profile = sso_extension_profile(
            platform,
            organisation=organisation,
            identifier=identifier or f"com.posturebridge.sso-extension.{platform.strip().lower()}",
            options=MicrosoftSsoOptions(
                app_allow_list=tuple(allow_app or ()),
                app_prefix_allow_list=tuple(allow_app_prefix) if allow_app_prefix else None,
                app_block_list=tuple(block_app or ()),
            ),
            sovereign_urls=tuple(sovereign_url or ()),
            deterministic_uuids=reproducible,
        )
    except ProfileError as error:
        _fail(str(error))
    if out is None:
        typer.echo(profile.decode("utf-8"), nl=False)
        return
    try:
        Path(out).write_bytes(profile)
    except OSError as error:
        _fail(f"cannot write {out}: {error.strerror or error}")


@app.command("android-boxer", context_settings=_LENIENT_PARSING)
def android_boxer(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
    set_pair: Annotated[
        list[str] | None,
        typer.Option("--set", help="KEY=VALUE you looked up in Omnissa's Boxer documentation (repeat)."),
    ] = None,
) -> None:
    """Boxer managed app configuration for Entra Conditional Access; notes say what to look up."""
    _refuse_extra(ctx)
    pairs: list[tuple[str, str]] = []
    for item in set_pair or ():
        key, sep, value = item.partition("=")
        if not sep or not key:
            _fail(f"--set takes KEY=VALUE, not {item!r}")
        pairs.append((key, value))
    try:
        entries = android_boxer_config(verified_pairs=pairs)
    except ProfileError as error:
        _fail(str(error))
    if as_json:
        typer.echo(json.dumps([_entry_json(entry) for entry in entries], indent=2))
    else:
        for entry in entries:
            typer.echo(_entry_line(entry))


def _entry_json(entry: AppConfigEntry) -> dict[str, Any]:
    if isinstance(entry, AppConfigPair):
        return {"key": entry.key, "value": entry.value, "source": entry.source}
    return {"note": entry.text, "lookUp": entry.look_up}


def _entry_line(entry: AppConfigEntry) -> str:
    if isinstance(entry, AdminNote):
        where = f" [see: {entry.look_up}]" if entry.look_up else ""
        return f"# NOTE {entry.text}{where}"
    return f"{entry.key}={entry.value}  # {entry.source}"


def _refuse_extra(ctx: typer.Context) -> None:
    if ctx.args:
        _fail(f"unexpected argument {ctx.args[0]!r}; see --help")


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(_USAGE_ERROR)
