"""``python -m guestpatch_agent``, the ``guestpatch-agent`` entry point, and the zipapp's ``run``."""

import sys

from guestpatch_agent.cli import main


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
