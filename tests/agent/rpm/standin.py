"""A recorded stand-in for a package-manager program that cannot run here (tdnf, yum 3).

It is a real executable the backend runs through its real Runner: it records its argv, then prints
the output recorded for its subcommand and exits with the recorded code. The rpm underneath stays the
real one (the lab root's database), and so does the repository cache the backends read.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

SCRIPT = """#!{python}
import json, os, sys
here = {here!r}
args = sys.argv[1:]
with open(os.path.join(here, "calls.jsonl"), "a") as f:
    f.write(json.dumps(args) + "\\n")
verbs = {verbs!r}
verb = next((a for a in args if a in verbs), "unknown")
def read(name, default=""):
    path = os.path.join(here, verb + "." + name)
    return open(path).read() if os.path.exists(path) else default
sys.stdout.write(read("stdout"))
sys.stderr.write(read("stderr"))
sys.exit(int(read("rc", "0")))
"""

VERBS = (
    "makecache",
    "repolist",
    "list",
    "check-update",
    "updateinfo",
    "install",
    "needs-restarting",
    "needs-rebooting",
)


@dataclass
class StandIn:
    directory: Path

    @property
    def program(self) -> str:
        return str(self.directory / "program")

    def answer(self, verb: str, stdout: str = "", *, stderr: str = "", rc: int = 0) -> None:
        (self.directory / f"{verb}.stdout").write_text(stdout)
        (self.directory / f"{verb}.stderr").write_text(stderr)
        (self.directory / f"{verb}.rc").write_text(str(rc))

    def calls(self) -> list[list[str]]:
        path = self.directory / "calls.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def calls_of(self, verb: str) -> list[list[str]]:
        return [c for c in self.calls() if verb in c]


def make_standin(directory: Path) -> StandIn:
    directory.mkdir(parents=True, exist_ok=True)
    program = directory / "program"
    program.write_text(SCRIPT.format(python=sys.executable, here=str(directory), verbs=VERBS))
    program.chmod(0o755)
    return StandIn(directory)
