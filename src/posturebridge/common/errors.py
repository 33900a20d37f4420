"""Expected failures of a command or a service start.

Each carries one line that names the problem; the CLI prints it and exits non-zero, never a traceback.
"""

from __future__ import annotations


class CommandError(Exception):
    """An expected failure: the message is one line for a person to act on."""


class StartupError(CommandError):
    """A problem found before or while starting a service."""
