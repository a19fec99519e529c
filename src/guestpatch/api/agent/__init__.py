"""guestpatch.api.agent."""
