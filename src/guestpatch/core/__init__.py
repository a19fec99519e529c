"""The pure core: decisions without I/O. See README.md in this folder."""
