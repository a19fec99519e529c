"""guestpatch.engine."""
