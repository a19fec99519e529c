"""The agent's settings, declared once with their defaults and help (the CLI flags derive from them)."""

from dataclasses import dataclass, fields
from typing import Dict


@dataclass(frozen=True)
class AgentSettings:
    """Deadlines and limits of one operation. Every field has a CLI flag of the same name (``--query-timeout``)."""

    refresh_timeout: float = 1200.0
    query_timeout: float = 600.0
    reboot_wait: float = 600.0
    batch_limit: int = 300


#: The defaults, for keyword arguments (``settings: AgentSettings = DEFAULT_SETTINGS``).
DEFAULT_SETTINGS = AgentSettings()

HELP: Dict[str, str] = {
    "refresh_timeout": "seconds a repository refresh may take (apt-get update)",
    "query_timeout": "seconds a read-only package-manager query may take (listing, simulation)",
    "reboot_wait": "seconds to wait for the machine to go down after requesting a reboot; then rebootStatus is Failed",
    "batch_limit": "most packages installed in one transaction",
}

assert set(HELP) == {f.name for f in fields(AgentSettings)}, "every setting is documented"
