"""``posturebridge demo``: start the system on the embedded default and run the seed's story against it."""

from __future__ import annotations

import json
import os
import socket
import tempfile
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console

from posturebridge.cli.common import load_settings
from posturebridge.cli.services import seed_everything
from posturebridge.common.errors import CommandError
from posturebridge.demo.seed import demo_file
from posturebridge.demo.story import Mismatch, Narrator, Story
from posturebridge.device.agent import AgentError
from posturebridge.mdm.client import MdmApiError
from posturebridge.runner import Child, Supervisor


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        data_dir: Annotated[
            Path | None,
            typer.Option("--data-dir", help="Where the services keep their data (default: a new temporary folder)."),
        ] = None,
    ) -> None:
        """Run the seed's whole story on fresh services, narrating and checking each step (exit 1 on a mismatch)."""
        folder = data_dir or Path(tempfile.mkdtemp(prefix="posturebridge-demo-"))
        settings = load_settings(
            data_dir=folder, directory_port=_free_port(), mdm_port=_free_port(), partner_port=_free_port()
        )
        # The story waits for the registration prompt: evaluate the scheduled workflow triggers every second.
        os.environ.setdefault("POSTUREBRIDGE_MDM_WORKFLOW_SCHEDULE_INTERVAL_SECONDS", "1")
        console = Console(highlight=False, soft_wrap=True)
        if not console.is_terminal:
            console.width = 160
        console.print(f"posturebridge demo: services in {folder}")
        supervisor = Supervisor(settings, before_start=seed_everything)
        failure: list[str] = []

        def story(_children: list[Child]) -> None:
            narrator = Narrator(console)
            try:
                told = Story(json.loads(demo_file(settings).read_text()), settings.data_dir, narrator)
                try:
                    told.run()
                finally:
                    told.close()
            except (Mismatch, CommandError, MdmApiError, AgentError, httpx.HTTPError) as exc:
                failure.append(f"step {narrator.steps}: {exc}" if not isinstance(exc, Mismatch) else str(exc))
            finally:
                supervisor.stop()
            if not failure:
                console.print(f"[bold green]the story holds: {narrator.steps} steps checked[/bold green]")

        supervisor.start(on_ready=story)
        if failure:
            raise CommandError(f"demo failed: {failure[0]}")
