"""``guestpatch demo``: a live demo fleet on an accelerated clock (``docs/demo.md``).

One process runs the control plane (SQLite, HTTPS, dashboard, orchestrator) on an accelerated
clock (:class:`~guestpatch.clock.ScaledClock`, held at wall speed while the demo sets up), creates a
fleet through the real API, serves it
with simulated agents that speak the real agent protocol over HTTPS, enrolls this machine's own agent in
assessment-only mode, and tells a story: a good release rolled out phase by phase and zone by zone,
then a bad one halted in its canary phase.

- :mod:`~guestpatch.demo.fleet`: the fleet's layout (pure, seeded) and its ARM bodies;
- :mod:`~guestpatch.demo.repository`: the simulated package repository (the releases, the bad version);
- :mod:`~guestpatch.demo.agents`: the simulated agents (asyncio, HTTPS);
- :mod:`~guestpatch.demo.timing`: the clock's start, the default speed, the night now (pure);
- :mod:`~guestpatch.demo.narration`: console lines from successive rollout views (pure);
- :mod:`~guestpatch.demo.story`: the script, as an API client;
- :mod:`~guestpatch.demo.host`: this machine's real agent, assessment-only;
- :mod:`~guestpatch.demo.runtime`: the in-process server, the data directory, start and Ctrl-C;
- :mod:`~guestpatch.demo.command`: the ``guestpatch demo`` command.
"""
