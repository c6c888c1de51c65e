"""Running the ``kpy`` command in tests: in process (``kpy.cli.main`` with capsys) and as
the installed console script in a subprocess."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kpy.cli import main

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Ran:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        assert self.code == 0, self.err
        return json.loads(self.out)


def kpy(capsys, command: str, *argv: str) -> Ran:
    """``kpy COMMAND ARGV`` in this process (``command`` split as a shell splits it);
    argparse's exits (usage errors) become exit codes."""
    capsys.readouterr()
    try:
        code = main([*shlex.split(command), *argv])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return Ran(code, captured.out, captured.err)


def script_command(command: str, *argv: str) -> tuple[list[str], dict[str, str]]:
    """The argv and environment running ``kpy COMMAND ARGV`` through the console script
    installed beside this Python (else ``python -m kpy``), importing kpy from this checkout."""
    script = Path(sys.executable).parent / "kpy"
    program = [str(script)] if script.exists() else [sys.executable, "-m", "kpy"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("KPY_BROKERS", None)
    return [*program, *shlex.split(command), *argv], env


def kpy_script(command: str, *argv: str) -> Ran:
    """``kpy COMMAND ARGV`` through the installed console script (``script_command``)."""
    args, env = script_command(command, *argv)
    out = subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    return Ran(out.returncode, out.stdout, out.stderr)


def one_error_line(ran: Ran, name: str) -> None:
    """A failure as the CLI promises: exit 1 and one line on stderr naming Kafka's error."""
    assert ran.code == 1, (ran.out, ran.err)
    lines = ran.err.strip().splitlines()
    assert len(lines) == 1, ran.err
    assert lines[0].startswith(f"kpy: {name}"), lines[0]
