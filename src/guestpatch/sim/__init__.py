"""guestpatch.sim."""
