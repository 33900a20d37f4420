"""``python -m posturebridge`` is the ``posturebridge`` command."""

from posturebridge.cli import main

main()
