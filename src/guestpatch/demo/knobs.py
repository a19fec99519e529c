"""The demo's knobs, declared once (``guestpatch demo --help`` and docs/demo.md show them).

Kept free of heavy imports: the command line reads them at start-up.
"""

from __future__ import annotations

#: Fleet seconds per wall second: 360 shows a night (about 13 hours of fleet time) in some two minutes.
DEFAULT_SPEED = 360.0
MIN_SPEED, MAX_SPEED = 1.0, 5000.0
DEFAULT_MACHINES = 60
MIN_MACHINES, MAX_MACHINES = 20, 400
#: Share of installations that fail (a maintainer script); failed machines retry in their next window.
DEFAULT_FAILURE_RATE = 0.02
DEFAULT_PORT = 8443
