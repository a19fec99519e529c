"""guestpatch.api.arm."""
