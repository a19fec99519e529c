"""guestpatch.web."""
