"""The ``posturebridge`` command: one Typer app, a sub-app per part.

Entry points are thin: parse flags, call one service function, render the result. Every expected
failure is one line on stderr and a non-zero exit; a traceback is a bug.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from posturebridge.cli import (
    ca,
    demo,
    directory,
    fleet,
    mdm,
    mdm_partner,
    mdm_workflows,
    partner,
    profiles,
    services,
)
from posturebridge.common.errors import CommandError

app = typer.Typer(
    name="posturebridge",
    help="Device posture decides access in Microsoft Entra ID.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
services.register(app)
demo.register(app)
app.add_typer(directory.app, name="directory")
app.add_typer(ca.app, name="ca")
app.add_typer(mdm.app, name="mdm")
mdm.app.add_typer(mdm_workflows.workflow_app, name="workflow")
mdm.app.add_typer(mdm_workflows.connector_app, name="connector")
mdm.app.add_typer(mdm_partner.app, name="partner")
app.add_typer(partner.app, name="partner")
app.add_typer(profiles.app, name="profiles")
app.add_typer(fleet.app, name="fleet")

_stderr = Console(stderr=True, highlight=False, soft_wrap=True)


def main() -> None:
    try:
        app()
    except CommandError as exc:
        _stderr.print(f"posturebridge: error: {exc}", markup=False)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
