"""guestpatch.api."""
