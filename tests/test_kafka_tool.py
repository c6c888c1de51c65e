"""``kpy kafka-tool``: the java command line Kafka's bin/*.sh scripts run, and the one-line
errors when it cannot be run. No JVM is started here (tests/test_readme.py and
tests/integration/test_kafka_tools.py run the tools)."""

from __future__ import annotations

import pytest

from kpy import cli, kafka_tool


@pytest.fixture
def jars(tmp_path):
    directory = tmp_path / "jars"
    directory.mkdir()
    (directory / "kafka-clients-4.4.0.jar").touch()
    return directory


def test_command_is_what_the_script_runs(jars):
    env = {"KPY_KAFKA_JARS": str(jars), "JAVA_HOME": "/opt/jdk", "KAFKA_OPTS": "-Da=1 -Db=2"}
    assert kafka_tool.command("kafka-topics.sh", ["--list"], env=env) == [
        "/opt/jdk/bin/java",
        *kafka_tool.JVM_OPTS,
        f"-Dlog4j2.configurationFile={kafka_tool.LOG4J2}",
        "-Da=1",
        "-Db=2",
        "-cp",
        f"{jars}/*",
        "org.apache.kafka.tools.TopicCommand",
        "--list",
    ]
    assert "-Xmx256m" in kafka_tool.JVM_OPTS  # the scripts' heap for tools
    assert kafka_tool.LOG4J2.is_file()


def test_jars_from_the_environment_then_the_working_directory(jars, tmp_path):
    assert kafka_tool.find_jars({"KPY_KAFKA_JARS": str(jars)}) == jars
    cache = tmp_path / "work" / ".cache" / "kafka-4.4.0"
    cache.mkdir(parents=True)
    (cache / "kafka-clients-4.4.0.jar").touch()
    assert kafka_tool.find_jars({}, cwd=tmp_path / "work") == cache


def test_missing_jars_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KPY_KAFKA_JARS", str(tmp_path))
    assert cli.main(["kafka-tool", "kafka-topics", "--list"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"kpy: no Kafka jars in {tmp_path}: set KPY_KAFKA_JARS")


def test_unknown_tool_is_one_line(jars, monkeypatch, capsys):
    monkeypatch.setenv("KPY_KAFKA_JARS", str(jars))
    assert cli.main(["kafka-tool", "kafka-nope"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("kpy: unknown Kafka tool 'kafka-nope'; known: ")
    assert "kafka-topics" in err


def test_missing_java_is_one_line(jars, monkeypatch, capsys):
    monkeypatch.setenv("KPY_KAFKA_JARS", str(jars))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", "")
    assert cli.main(["kafka-tool", "kafka-topics", "--list"]) == 1
    assert capsys.readouterr().err == "kpy: java not found: install a JDK 17+ or set JAVA_HOME\n"


def test_the_tool_arguments_are_passed_as_given():
    args = cli.build_parser().parse_args(["kafka-tool", "kafka-topics", "--help", "-x"])
    assert (args.name, args.args) == ("kafka-topics", ["--help", "-x"])
