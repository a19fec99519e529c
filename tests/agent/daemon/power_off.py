"""A reboot command for tests: record the request, then cut the agent's power (SIGKILL its process).

``guestpatch-agent run --reboot-command "python power_off.py MARKER"``: the agent runs this as its
reboot; like a real reboot, it ends the agent before the agent can do anything after asking. The
test then "boots" the root (a new boot id) and starts the agent again.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

if __name__ == "__main__":
    Path(sys.argv[1]).write_text(f"reboot requested by {os.getppid()}\n")
    os.kill(os.getppid(), signal.SIGKILL)
