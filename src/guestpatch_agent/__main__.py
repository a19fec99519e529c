"""``python -m guestpatch_agent`` and the ``guestpatch-agent`` entry point (also the zipapp's)."""

import sys

from guestpatch_agent.cli import main

if __name__ == "__main__":
    sys.exit(main())
