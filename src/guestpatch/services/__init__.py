"""Use cases shared by the API routes and the dashboard: load, decide with the core, persist."""
