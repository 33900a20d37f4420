"""``posturebridge up`` and ``posturebridge serve``: run the services."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from posturebridge.cli.common import load_settings
from posturebridge.common.errors import StartupError
from posturebridge.common.settings import PARTS, Settings
from posturebridge.demo.seed import seed_demo
from posturebridge.runner import Child, Supervisor, serve

HostOption = Annotated[str | None, typer.Option("--host", help="Address to listen on (default 127.0.0.1).")]
DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help="SQLite files, keys and demo.json (default ./.posturebridge)."),
]


def _ready_printer(console: Console, settings: Settings, seed: str | None) -> Callable[[list[Child]], None]:
    def show(children: list[Child]) -> None:
        table = Table(title="posturebridge is up", title_justify="left", show_edge=False)
        table.add_column("service")
        table.add_column("URL")
        for child in children:
            table.add_row(child.part, child.url)
        console.print(table)
        if settings.directory_tls:
            console.print(f"CA bundle: {settings.ca_bundle}")
        if seed is not None:
            console.print(f"demo tenant credentials: {settings.data_dir / 'demo.json'}")
        console.print("Press Ctrl-C to stop.")

    return show


def register(app: typer.Typer) -> None:
    @app.command()
    def up(
        host: HostOption = None,
        directory_port: Annotated[int | None, typer.Option(help="Directory port (default 8400).")] = None,
        mdm_port: Annotated[int | None, typer.Option(help="MDM port (default 8401).")] = None,
        partner_port: Annotated[int | None, typer.Option(help="Partner service port (default 8402).")] = None,
        data_dir: DataDirOption = None,
        seed: Annotated[str | None, typer.Option(help="Seed data to create: 'demo'.")] = None,
    ) -> None:
        """Start the directory, MDM and partner services on loopback; stop them with Ctrl-C or SIGTERM."""
        if seed is not None and seed != "demo":
            raise StartupError(f"unknown seed {seed!r}; the only seed is 'demo'")
        settings = load_settings(
            host=host,
            directory_port=directory_port,
            mdm_port=mdm_port,
            partner_port=partner_port,
            data_dir=data_dir,
        )
        console = Console()
        supervisor = Supervisor(settings, before_start=seed_demo if seed == "demo" else None)
        code = supervisor.start(on_ready=_ready_printer(console, settings, seed))
        console.print("stopped")
        raise typer.Exit(code)

    @app.command(name="serve")
    def serve_command(
        part: Annotated[str, typer.Argument(help="directory, mdm or partner", metavar="PART")],
        host: HostOption = None,
        port: Annotated[int | None, typer.Option(help="Port (default: the part's default port).")] = None,
        data_dir: DataDirOption = None,
        fd: Annotated[int | None, typer.Option(hidden=True, help="Listen on this inherited socket.")] = None,
        workers: Annotated[int, typer.Option(help="Processes sharing the port (one per core is typical).")] = 1,
    ) -> None:
        """Run one service alone (this is how the services scale out)."""
        name = next((candidate for candidate in PARTS if candidate == part), None)
        if name is None:
            raise StartupError(f"unknown service {part!r}; choose one of: {', '.join(PARTS)}")
        settings = load_settings(host=host, data_dir=data_dir, **{f"{name}_port": port})
        if workers > 1 and fd is None:
            raise typer.Exit(Supervisor(settings, parts=(name,), workers=workers).start())
        serve(settings, name, fd=fd)
