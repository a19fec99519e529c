"""guestpatch: self-hosted automatic guest patching, wire-compatible with Azure's Compute API."""

__version__ = "0.1.0"
