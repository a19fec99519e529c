"""guestpatch.store."""
