"""Control-plane configuration, declared once.

Every setting is a field of :class:`Config` with its default, its help text and the
environment variable that sets it. ``guestpatch serve`` flags, the environment and
``docs/configuration.md`` are all derived from these declarations (a test keeps the
document in step). The environment is read in exactly one place: :func:`load_config`,
which receives it as an argument.

Precedence: explicit overrides (command-line flags) > environment > default.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guestpatch.errors import ConfigError

ENV_PREFIX = "GUESTPATCH_"
_VERSION = re.compile(r"^\d+(\.\d+){0,3}$")


def default_data_dir(environ: Mapping[str, str]) -> Path:
    """``$XDG_DATA_HOME/guestpatch``, else ``~/.local/share/guestpatch``."""
    base = environ.get("XDG_DATA_HOME") or str(Path(environ.get("HOME", "~")).expanduser() / ".local/share")
    return Path(base) / "guestpatch"


def _setting(default: Any, help: str, *, parse: Callable[[str], Any] | None = None) -> Any:
    return field(default=default, metadata={"help": help, "parse": parse})


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected true or false, got {text!r}")


def _parse_optional_path(text: str) -> Path | None:
    return Path(text) if text else None


@dataclass(frozen=True)
class Config:
    """Everything ``guestpatch serve`` can be told. Immutable; build with :func:`load_config`."""

    data_dir: Path | None = _setting(
        None,
        "Directory for the SQLite database, TLS certificate and admin token "
        "(default: $XDG_DATA_HOME/guestpatch or ~/.local/share/guestpatch).",
        parse=_parse_optional_path,
    )
    host: str = _setting("127.0.0.1", "Address the HTTPS server listens on.")
    port: int = _setting(8443, "TCP port the HTTPS server listens on.", parse=int)
    database_url: str | None = _setting(
        None,
        "SQLAlchemy URL of the store; default SQLite (WAL) at DATA_DIR/guestpatch.db. "
        "PostgreSQL: postgresql+psycopg://user@host/db.",
    )
    tls_cert: Path | None = _setting(
        None, "PEM certificate to serve; default a self-signed one generated in DATA_DIR.",
        parse=_parse_optional_path,
    )
    tls_key: Path | None = _setting(None, "PEM private key for --tls-cert.", parse=_parse_optional_path)
    workers: int = _setting(
        0,
        "Server worker processes; 0 means one per CPU. Each keeps its own in-memory goal index, kept "
        "current by the store (see docs/agent-protocol.md).",
        parse=int,
    )
    insecure_http: bool = _setting(
        False, "Serve plain HTTP. For local development only: tokens travel in clear text.",
        parse=_parse_bool,
    )
    max_body_bytes: int = _setting(
        1024 * 1024, "Largest accepted request body; larger ones get 413.", parse=int
    )
    page_size: int = _setting(100, "Items per page of ARM list responses before a nextLink.", parse=int)
    update_domain_count: int = _setting(
        5, "Update domains per availability set, assigned round-robin.", parse=int
    )
    image_catalog_file: Path | None = _setting(
        None,
        "JSON file of operator images added to the supported-image catalog (see docs/images.md).",
        parse=_parse_optional_path,
    )
    log_level: str = _setting("info", "Log level: debug, info, warning, error.")
    min_agent_version: str = _setting(
        "0.1.0", "Oldest guest agent that is given work; older agents are told so in the instance view."
    )
    agent_poll_interval: int = _setting(
        60, "Seconds between an agent's goal-state polls (agents add ±20 % jitter).", parse=int
    )
    agent_long_poll: int = _setting(
        50, "Longest a goal-state poll is held open waiting for a change (long-poll), in seconds.", parse=int
    )
    agent_pickup_timeout: int = _setting(
        600, "Seconds a queued operation waits for its agent to start it before it fails.", parse=int
    )
    operation_progress_timeout: int = _setting(
        1200,
        "Seconds an operation in progress may go without a report from its agent (reboots included) "
        "before it fails.",
        parse=int,
    )
    lro_retry_after: int = _setting(
        1, "Retry-After seconds on 202 answers and operation-status answers of ARM actions.", parse=int
    )
    engine: bool = _setting(
        True,
        "Run the orchestrator in this process. Several processes may: exactly one drives at a time "
        "(PostgreSQL advisory lock; on SQLite a lease row), another takes over when it stops.",
        parse=_parse_bool,
    )
    engine_interval: int = _setting(
        2, "Seconds between the orchestrator's passes (reports in, waves started, commands out).", parse=int
    )
    auto_release: bool = _setting(
        True, "Start each month's release automatically on its release day (see release_day).", parse=_parse_bool
    )
    release_day: str = _setting(
        "2 tuesday",
        "Monthly release day: an ordinal (1-4 or last) and a weekday, optionally +N/-N days, e.g. "
        "'2 tuesday' (Patch Tuesday) or 'last friday -2'.",
    )
    rollout_policy_file: Path | None = _setting(
        None,
        "JSON file with the default rollout policy (keys as in docs/orchestrator.md); default: the built-in policy.",
        parse=_parse_optional_path,
    )

    @property
    def data_path(self) -> Path:
        """The data directory; :func:`load_config` always fills it in."""
        if self.data_dir is None:
            raise ConfigError("data_dir is not resolved: build the Config with load_config()")
        return self.data_dir

    @property
    def store_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_path / 'guestpatch.db'}"


_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def parse_release_day(text: str) -> tuple[int, int, int]:
    """``"2 tuesday"`` → (ordinal 2, weekday 1, offset 0); ``"last friday -2"`` → (-1, 4, -2)."""
    parts = text.lower().split()
    problem = f"release_day {text!r} is not like '2 tuesday' or 'last friday -2'"
    if len(parts) not in (2, 3):
        raise ConfigError(problem, target="release_day")
    ordinal = -1 if parts[0] == "last" else int(parts[0]) if parts[0] in {"1", "2", "3", "4"} else 0
    if ordinal == 0 or parts[1] not in _WEEKDAYS:
        raise ConfigError(problem, target="release_day")
    offset = 0
    if len(parts) == 3:
        try:
            offset = int(parts[2])
        except ValueError as exc:
            raise ConfigError(problem, target="release_day") from exc
        if not -30 <= offset <= 30:
            raise ConfigError("release_day offset must be within -30..+30 days", target="release_day")
    return ordinal, _WEEKDAYS.index(parts[1]), offset


def settings() -> tuple[dataclasses.Field[Any], ...]:
    """The declared settings, in declaration order."""
    return dataclasses.fields(Config)


def env_name(name: str) -> str:
    return ENV_PREFIX + name.upper()


def flag_name(name: str) -> str:
    return "--" + name.replace("_", "-")


def load_config(overrides: Mapping[str, Any], environ: Mapping[str, str]) -> Config:
    """Build a :class:`Config` from flags (``overrides``; ``None`` means not given) and the environment."""
    values: dict[str, Any] = {}
    for f in settings():
        if overrides.get(f.name) is not None:
            values[f.name] = overrides[f.name]
            continue
        raw = environ.get(env_name(f.name))
        if raw is None:
            continue
        parse = f.metadata["parse"] or str
        try:
            values[f.name] = parse(raw)
        except ValueError as exc:
            name = env_name(f.name)
            raise ConfigError(f"{name}={raw!r} is invalid: {exc}", target=name) from exc
    if values.get("data_dir") is None:
        values["data_dir"] = default_data_dir(environ)
    config = Config(**values)
    _validate(config)
    return config


def _validate(config: Config) -> None:
    if not 0 < config.port < 65536:
        raise ConfigError(f"port {config.port} is out of range 1-65535", target="port")
    if not 0 <= config.workers <= 64:
        raise ConfigError("workers must be between 0 (one per CPU) and 64", target="workers")
    if config.max_body_bytes < 1024:
        raise ConfigError("max_body_bytes must be at least 1024", target="max_body_bytes")
    if not 1 <= config.page_size <= 1000:
        raise ConfigError("page_size must be between 1 and 1000", target="page_size")
    if not 1 <= config.update_domain_count <= 20:
        raise ConfigError(
            "update_domain_count must be between 1 and 20 (Azure allows 20)", target="update_domain_count"
        )
    if (config.tls_cert is None) != (config.tls_key is None):
        raise ConfigError("--tls-cert and --tls-key go together", target="tls_cert")
    for name in ("agent_poll_interval", "agent_pickup_timeout", "operation_progress_timeout", "lro_retry_after"):
        if getattr(config, name) < 1:
            raise ConfigError(f"{name} must be at least 1 second", target=name)
    if not 0 <= config.agent_long_poll <= 300:
        raise ConfigError("agent_long_poll must be between 0 and 300 seconds", target="agent_long_poll")
    if not _VERSION.match(config.min_agent_version):
        raise ConfigError(
            f"min_agent_version {config.min_agent_version!r} is not a version like 1.2.3", target="min_agent_version"
        )
    if config.operation_progress_timeout < 2 * config.agent_poll_interval:
        raise ConfigError(
            "operation_progress_timeout must be at least twice agent_poll_interval: agents keep operations "
            "alive once per poll interval",
            target="operation_progress_timeout",
        )
    if not 1 <= config.engine_interval <= 3600:
        raise ConfigError("engine_interval must be between 1 and 3600 seconds", target="engine_interval")
    parse_release_day(config.release_day)
    if config.log_level not in {"debug", "info", "warning", "error"}:
        raise ConfigError(f"log level {config.log_level!r} is not one of debug, info, warning, error")
