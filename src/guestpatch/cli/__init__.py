"""guestpatch.cli."""
