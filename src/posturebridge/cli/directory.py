"""``posturebridge directory …``: bootstrap tenants, users, groups and applications in the directory database.

These are administrator commands that work on the directory's own database (the part's settings pick
it: ``--data-dir`` or ``POSTUREBRIDGE_DIRECTORY_DATABASE_URL``), like an operator creating a tenant in
Entra, which Graph itself cannot do. Secrets are printed once and stored only as hashes.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from posturebridge.cli.common import load_settings
from posturebridge.common.clock import utcnow
from posturebridge.common.database import make_engine, migrate, unit_of_work
from posturebridge.common.errors import CommandError
from posturebridge.directory import catalog, tenants
from posturebridge.directory.auth import keys
from posturebridge.directory.graph.throttling import throttling_config
from posturebridge.directory.models import Domain, Group, GroupMember, SubscribedSku, Tenant, User, UserLicense
from posturebridge.directory.secrets import new_password

app = typer.Typer(
    help="Tenants, users, groups and applications of the directory (Entra ID stand-in).", no_args_is_help=True
)
tenant_app = typer.Typer(help="Create, list and configure tenants.", no_args_is_help=True)
user_app = typer.Typer(help="Add users.", no_args_is_help=True)
group_app = typer.Typer(help="Add groups and members.", no_args_is_help=True)
app_app = typer.Typer(help="Register applications and grant them Graph permissions.", no_args_is_help=True)
keys_app = typer.Typer(help="Token signing keys.", no_args_is_help=True)
app.add_typer(tenant_app, name="tenant")
app.add_typer(user_app, name="user")
app.add_typer(group_app, name="group")
app.add_typer(app_app, name="app")
app.add_typer(keys_app, name="keys")

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Data directory (default ./.posturebridge).")]
TenantOption = Annotated[str, typer.Option("--tenant", help="Tenant id or verified domain.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@contextmanager
def _session(data_dir: Path | None) -> Iterator[Session]:
    settings = load_settings(data_dir=data_dir)
    if settings.database_url("directory").startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url("directory"))
    try:
        migrate(engine, "directory")
        with unit_of_work(sessionmaker(engine, expire_on_commit=False)) as session:
            yield session
    finally:
        engine.dispose()


def _tenant(session: Session, name: str) -> Tenant:
    found = tenants.find_tenant(session, name)
    if found is None:
        raise CommandError(f"no tenant {name!r} (give its id or a verified domain)")
    return found


def _emit(payload: dict[str, Any], as_json: bool, title: str) -> None:
    if as_json:
        typer.echo(json.dumps(payload, indent=2))
        return
    table = Table(title=title, show_header=False, title_justify="left")
    for key, value in payload.items():
        table.add_row(key, value if isinstance(value, str) else json.dumps(value))
    Console().print(table)


@tenant_app.command("create")
def tenant_create(
    name: Annotated[str, typer.Option("--name", help="Display name of the organisation.")],
    prefix: Annotated[str, typer.Option("--prefix", help="Initial domain <prefix>.onmicrosoft.com.")],
    domain: Annotated[str | None, typer.Option("--domain", help="A verified custom domain.")] = None,
    license_sku: Annotated[
        list[str], typer.Option("--license", help="SKU part number to subscribe, e.g. AAD_PREMIUM.")
    ] = [],  # noqa: B006
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Create a tenant with its initial domain, an optional verified domain and licences."""
    skus = []
    for part_number in license_sku:
        sku = catalog.sku(part_number)
        if sku is None:
            raise CommandError(
                f"unknown licence {part_number!r}; known: {', '.join(s.sku_part_number for s in catalog.SKUS)}"
            )
        skus.append(sku)
    with _session(data_dir) as session:
        tenant = tenants.create_tenant(
            session, display_name=name, initial_domain_prefix=prefix, verified_domain=domain, now=utcnow()
        )
        for sku in skus:
            session.add(SubscribedSku(tenant_id=tenant.id, sku_id=sku.sku_id))
        session.commit()
        domains = [d.id for d in session.scalars(select(Domain).where(Domain.tenant_id == tenant.id))]
        _emit(
            {
                "tenant_id": tenant.id,
                "display_name": tenant.display_name,
                "domains": domains,
                "licences": [s.sku_part_number for s in skus],
            },
            as_json,
            "tenant created",
        )


@tenant_app.command("list")
def tenant_list(data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    """List tenants with their domains."""
    with _session(data_dir) as session:
        rows: list[dict[str, Any]] = []
        for tenant in session.scalars(select(Tenant).order_by(Tenant.created_date_time)):
            domains = [d.id for d in session.scalars(select(Domain).where(Domain.tenant_id == tenant.id))]
            rows.append({"tenant_id": tenant.id, "display_name": tenant.display_name, "domains": domains})
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("tenant id", "name", "domains")
    for row in rows:
        table.add_row(row["tenant_id"], row["display_name"], ", ".join(row["domains"]))
    Console().print(table)


@tenant_app.command("throttling")
def tenant_throttling(
    tenant: TenantOption,
    mode: Annotated[str, typer.Option("--mode", help="off, documented or custom.")] = "documented",
    size: Annotated[str, typer.Option("--size", help="Tenant size for documented limits: S, M or L.")] = "S",
    fault_rate: Annotated[float, typer.Option("--fault-rate", help="Share of requests failed at random (0..1).")] = 0.0,
    fault_status: Annotated[list[int], typer.Option("--fault-status", help="Statuses to inject.")] = [],  # noqa: B006
    data_dir: DataDir = None,
) -> None:
    """Set how Graph throttles a tenant (Microsoft's documented limits by default) and inject faults."""
    document: dict[str, Any] = {"mode": mode, "size": size}
    if fault_rate:
        document["faults"] = {"rate": fault_rate, "statuses": fault_status or [429, 500, 503, 504]}
    try:
        throttling_config(document)
    except (ValueError, KeyError, TypeError) as exc:
        raise CommandError(f"invalid throttling settings: {exc}") from None
    with _session(data_dir) as session:
        row = _tenant(session, tenant)
        row.throttling = document
        session.commit()
    typer.echo(f"throttling for {row.id}: {json.dumps(document)}")


@user_app.command("add")
def user_add(
    tenant: TenantOption,
    upn: Annotated[str, typer.Option("--upn", help="userPrincipalName, alias@verified-domain.")],
    name: Annotated[str, typer.Option("--name", help="Display name.")],
    password: Annotated[str | None, typer.Option("--password", help="Password (random when omitted).")] = None,
    license_sku: Annotated[list[str], typer.Option("--license", help="SKU part number to assign.")] = [],  # noqa: B006
    role: Annotated[list[str], typer.Option("--role", help="Built-in role name or template id.")] = [],  # noqa: B006
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Add a user (the password is printed once)."""
    secret = password or new_password()
    with _session(data_dir) as session:
        row = _tenant(session, tenant)
        user = tenants.add_user(
            session, row, user_principal_name=upn, display_name=name, password=secret, now=utcnow(), usage_location="US"
        )
        session.flush()
        for part_number in license_sku:
            sku = catalog.sku(part_number)
            subscribed = sku is not None and session.get(SubscribedSku, (row.id, sku.sku_id)) is not None
            if sku is None or not subscribed:
                raise CommandError(f"licence {part_number!r} is not subscribed by the tenant")
            session.add(UserLicense(user_id=user.id, sku_id=sku.sku_id, disabled_plans=[]))
        for name_or_id in role:
            template = catalog.role_template(name_or_id)
            if template is None:
                raise CommandError(f"unknown directory role {name_or_id!r}")
            tenants.assign_directory_role(session, row, user, template.id, now=utcnow())
        session.commit()
        _emit({"id": user.id, "userPrincipalName": user.user_principal_name, "password": secret}, as_json, "user added")


@group_app.command("add")
def group_add(
    tenant: TenantOption,
    name: Annotated[str, typer.Option("--name", help="Display name.")],
    member: Annotated[list[str], typer.Option("--member", help="userPrincipalName or object id of a member.")] = [],  # noqa: B006
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Add a security group with members."""
    with _session(data_dir) as session:
        row = _tenant(session, tenant)
        group = Group(
            id=str(uuid.uuid4()),
            tenant_id=row.id,
            display_name=name,
            mail_nickname="".join(ch for ch in name if ch.isalnum())[:64] or "group",
            mail_enabled=False,
            security_enabled=True,
            group_types=[],
            created_date_time=utcnow(),
        )
        session.add(group)
        session.flush()
        for reference in member:
            user = session.scalars(
                select(User).where(
                    User.tenant_id == row.id,
                    (User.id == reference.lower()) | (User.user_principal_name_lower == reference.lower()),
                )
            ).first()
            if user is None:
                raise CommandError(f"no user {reference!r} in the tenant")
            session.add(GroupMember(group_id=group.id, member_id=user.id, member_type="user"))
        session.commit()
        _emit({"id": group.id, "displayName": group.display_name, "members": member}, as_json, "group added")


@app_app.command("add")
def app_add(
    tenant: TenantOption,
    name: Annotated[str, typer.Option("--name", help="Display name.")],
    permission: Annotated[list[str], typer.Option("--permission", help="Graph application permission to grant.")] = [],  # noqa: B006
    redirect_uri: Annotated[list[str], typer.Option("--redirect-uri", help="Web redirect URI.")] = [],  # noqa: B006
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Register an application with a client secret (printed once) and grant it Graph permissions."""
    with _session(data_dir) as session:
        row = _tenant(session, tenant)
        created = tenants.add_application(session, row, display_name=name, now=utcnow(), redirect_uris=redirect_uri)
        if permission:
            tenants.grant_application_permissions(session, row, created.service_principal, permission, now=utcnow())
        session.commit()
        _emit(
            {
                "client_id": created.application.app_id,
                "client_secret": created.client_secret,
                "object_id": created.application.id,
                "permissions": permission,
            },
            as_json,
            "application added",
        )


@keys_app.command("rotate")
def keys_rotate(data_dir: DataDir = None) -> None:
    """Start signing with a new key; the old one stays published until its tokens expire."""
    with _session(data_dir) as session:
        row = keys.rotate(session, utcnow())
        session.commit()
    typer.echo(f"new signing key {row.kid}")
