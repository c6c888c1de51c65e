"""Command line: subcommands, overrides, exit codes, logging setup. No broker is started."""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys

import pytest

import kpy.server
from kpy import __version__, cli
from kpy.config import ConfigError


@pytest.fixture
def served(monkeypatch):
    """Replace kpy.server.run; collect the configs it would have served."""
    configs = []

    def fake_run(config):
        configs.append(config)
        return 0

    monkeypatch.setattr(kpy.server, "run", fake_run)
    yield configs
    logging.getLogger().handlers.clear()


def test_version(capsys):
    assert cli.main(["version"]) == 0
    assert capsys.readouterr().out.strip() == f"kpy {__version__}"


def test_version_flag(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"kpy {__version__}"


def test_serve_with_file_and_overrides(tmp_path, served):
    path = tmp_path / "server.properties"
    path.write_text("num.partitions=2\nlog.dirs=/from/file\nlisteners=PLAINTEXT://127.0.0.1:0\n")
    argv = ["serve", "--config", str(path), "--override", "num.partitions=7"]
    assert cli.main(argv + ["--override", "log.retention.ms = 5"]) == 0
    config = served[0]
    assert config.get("num.partitions") == 7
    assert config.log_dirs() == ["/from/file"]
    assert config.topic_defaults()["retention.ms"] == 5
    # kafka-server-start.sh style: the file as the first argument.
    assert cli.main(["serve", str(path), "--override", "num.partitions=3"]) == 0
    assert served[1].get("num.partitions") == 3


def test_override_value_may_contain_equals(served):
    value = "PLAINTEXT:PLAINTEXT,A:PLAINTEXT"
    assert cli.main(["serve", "--override", f"listener.security.protocol.map={value}"]) == 0
    assert served[0].get("listener.security.protocol.map") == value


@pytest.mark.parametrize(
    "argv",
    [
        ["serve", "--override", "num.partitions=lots"],
        ["serve", "--override", "listeners=PLAINTEXT://nowhere"],
        ["serve", "--config", "/no/such/server.properties"],
    ],
)
def test_config_errors_exit_1_with_a_message(argv, served, capsys):
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert "configuration error" in err
    assert argv[-1].split("=")[0] in err
    assert not served


def test_unknown_key_values_are_not_logged(served, capsys):
    # An unknown key may be a misspelt secret: its name is told, its value is not.
    assert cli.main(["serve", "--override", "kpy.admin.pasword=hunter2"]) == 0
    err = capsys.readouterr().err
    assert "kpy.admin.pasword" in err and "hunter2" not in err


def test_unknown_keys_are_warned_about_not_fatal(served, capsys):
    assert cli.main(["serve", "--override", "no.such.key=1"]) == 0
    assert "no.such.key" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["serve", "--override", "novalue"],
        ["serve", "--override", "=1"],
        ["serve", "a.properties", "--config", "b.properties"],
        [],
        ["nonsense"],
    ],
)
def test_usage_errors_exit_2(argv, served):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2


def test_start_up_config_errors_from_the_server(monkeypatch, capsys):
    def fails(config):
        raise ExceptionGroup("serve", [ConfigError("data dir belongs to another cluster")])

    monkeypatch.setattr(kpy.server, "run", fails)
    try:
        assert cli.main(["serve"]) == 1
    finally:
        logging.getLogger().handlers.clear()
    assert "another cluster" in capsys.readouterr().err


def test_logging_format(capsys):
    try:
        cli.setup_logging("INFO")
        logging.getLogger("kpy.test").info("hello")
        logging.getLogger("kpy.test").debug("hidden")
    finally:
        logging.getLogger().handlers.clear()
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert lines[0].endswith("INFO kpy.test: hello")
    assert lines[0][:4].isdigit()  # starts with the timestamp


def test_every_command_is_mapped_to_its_module():
    full = cli.build_parser()
    (sub,) = [a for a in full._actions if isinstance(a, argparse._SubParsersAction)]
    assert set(sub.choices) == set(cli.MODULE_OF)
    for command, module in cli.MODULE_OF.items():
        (only,) = [
            a
            for a in cli.build_parser(command)._actions
            if isinstance(a, argparse._SubParsersAction)
        ]
        assert command in only.choices, (command, module)


def test_serve_does_not_load_the_client():
    # `kpy serve` starts faster without kpy.client (and the client commands' modules).
    code = (
        "import sys; from kpy import cli; cli.build_parser('serve'); "
        "print(sorted(m for m in sys.modules if m.startswith(('kpy.client', 'kpy.cli.'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['kpy.cli.serve']"
