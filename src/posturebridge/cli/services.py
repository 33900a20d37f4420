"""``posturebridge up`` and ``posturebridge serve``: run the services."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from posturebridge.cli.common import load_settings
from posturebridge.common.errors import StartupError
from posturebridge.common.settings import PARTS, Settings
from posturebridge.demo.mdm_seed import mdm_section, seed_mdm_demo
from posturebridge.demo.seed import seed_demo
from posturebridge.runner import Child, Supervisor, serve

HostOption = Annotated[str | None, typer.Option("--host", help="Address to listen on (default 127.0.0.1).")]
DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help="SQLite files, keys and demo.json (default ./.posturebridge)."),
]


def _ready_printer(
    console: Console, settings: Settings, seed: str | None, fleet: int = 0
) -> Callable[[list[Child]], None]:
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
        if fleet:
            console.print(f"fleet: {fleet} simulated devices enrol in the MDM demo organisation and send posture")
        console.print("Press Ctrl-C to stop.")

    return show


def seed_everything(settings: Settings) -> None:
    """The demo tenant in the directory, then the demo organisation in the MDM (both into demo.json)."""
    kept = mdm_section(settings)
    seed_demo(settings)
    seed_mdm_demo(settings, kept)


def fleet_command(settings: Settings, devices: int) -> list[str]:
    """The demo fleet as a companion process of `up`: credentials from demo.json, summary only."""
    data_dir = str(settings.data_dir)
    return [
        sys.executable,
        "-m",
        "posturebridge",
        "fleet",
        "simulate",
        "--devices",
        str(devices),
        "--data-dir",
        data_dir,
        "--companion",
    ]


def register(app: typer.Typer) -> None:
    @app.command()
    def up(
        host: HostOption = None,
        directory_port: Annotated[int | None, typer.Option(help="Directory port (default 8400).")] = None,
        mdm_port: Annotated[int | None, typer.Option(help="MDM port (default 8401).")] = None,
        partner_port: Annotated[int | None, typer.Option(help="Partner service port (default 8402).")] = None,
        data_dir: DataDirOption = None,
        seed: Annotated[str | None, typer.Option(help="Seed data to create: 'demo'.")] = None,
        fleet: Annotated[
            int, typer.Option(help="Simulated devices sending posture to the MDM once it is up (needs --seed demo).")
        ] = 0,
    ) -> None:
        """Start the directory, MDM and partner services on loopback; stop them with Ctrl-C or SIGTERM."""
        if seed is not None and seed != "demo":
            raise StartupError(f"unknown seed {seed!r}; the only seed is 'demo'")
        if fleet < 0:
            raise StartupError("--fleet must be zero or more devices")
        if fleet and seed != "demo":
            raise StartupError("--fleet enrols its devices in the demo organisation: add --seed demo")
        settings = load_settings(
            host=host,
            directory_port=directory_port,
            mdm_port=mdm_port,
            partner_port=partner_port,
            data_dir=data_dir,
        )
        console = Console()
        supervisor = Supervisor(
            settings,
            before_start=seed_everything if seed == "demo" else None,
            companions=[fleet_command(settings, fleet)] if fleet else (),
        )
        code = supervisor.start(on_ready=_ready_printer(console, settings, seed, fleet))
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
