"""guestpatch.api.ops."""
