"""``kpy kafka-tool NAME ARGS...``: Apache Kafka's command-line tools against any broker.

Kafka's ``bin/NAME.sh`` scripts run ``java -cp <libs>/* <main class> ARGS``; this does the
same with a directory of Kafka's jars (``make kafka-jars`` puts Kafka 4.4's in
``.cache/kafka-4.4.0``), found through ``$KPY_KAFKA_JARS``, else ``./.cache/kafka-4.4.0``, else
the checkout's ``.cache/kafka-4.4.0``. The JVM gets the scripts' 256 MiB heap, options that
start it faster (tools are short-lived), and a log4j2 config that, like Kafka's
``tools-log4j2.yaml``, writes warnings and errors to stderr and keeps stdout for the tool's
output. ``$KAFKA_OPTS`` is passed on as the scripts pass it.
"""

from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path

KAFKA_VERSION = "4.4.0"
_CHECKOUT = Path(__file__).resolve().parents[1]

# bin/<name>.sh -> the main class it runs (Kafka 4.4).
TOOLS = {
    "kafka-acls": "org.apache.kafka.tools.AclCommand",
    "kafka-broker-api-versions": "org.apache.kafka.tools.BrokerApiVersionsCommand",
    "kafka-client-metrics": "org.apache.kafka.tools.ClientMetricsCommand",
    "kafka-cluster": "org.apache.kafka.tools.ClusterTool",
    "kafka-configs": "org.apache.kafka.tools.ConfigCommand",
    "kafka-console-consumer": "org.apache.kafka.tools.consumer.ConsoleConsumer",
    "kafka-console-producer": "org.apache.kafka.tools.ConsoleProducer",
    "kafka-console-share-consumer": "org.apache.kafka.tools.consumer.ConsoleShareConsumer",
    "kafka-consumer-groups": "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
    "kafka-consumer-perf-test": "org.apache.kafka.tools.ConsumerPerformance",
    "kafka-delegation-tokens": "org.apache.kafka.tools.DelegationTokenCommand",
    "kafka-delete-records": "org.apache.kafka.tools.DeleteRecordsCommand",
    "kafka-dump-log": "org.apache.kafka.tools.DumpLogSegments",
    "kafka-e2e-latency": "org.apache.kafka.tools.EndToEndLatency",
    "kafka-features": "org.apache.kafka.tools.FeatureCommand",
    "kafka-get-offsets": "org.apache.kafka.tools.GetOffsetShell",
    "kafka-groups": "org.apache.kafka.tools.GroupsCommand",
    "kafka-jmx": "org.apache.kafka.tools.JmxTool",
    "kafka-leader-election": "org.apache.kafka.tools.LeaderElectionCommand",
    "kafka-log-dirs": "org.apache.kafka.tools.LogDirsCommand",
    "kafka-metadata-quorum": "org.apache.kafka.tools.MetadataQuorumCommand",
    "kafka-producer-perf-test": "org.apache.kafka.tools.ProducerPerformance",
    "kafka-reassign-partitions": "org.apache.kafka.tools.reassign.ReassignPartitionsCommand",
    "kafka-share-consumer-perf-test": "org.apache.kafka.tools.ShareConsumerPerformance",
    "kafka-share-groups": "org.apache.kafka.tools.consumer.group.ShareGroupCommand",
    "kafka-streams-application-reset": "org.apache.kafka.tools.StreamsResetter",
    "kafka-streams-groups": "org.apache.kafka.tools.streams.StreamsGroupCommand",
    "kafka-topics": "org.apache.kafka.tools.TopicCommand",
    "kafka-transactions": "org.apache.kafka.tools.TransactionsCommand",
    "kafka-verifiable-consumer": "org.apache.kafka.tools.VerifiableConsumer",
    "kafka-verifiable-producer": "org.apache.kafka.tools.VerifiableProducer",
    "kafka-verifiable-share-consumer": "org.apache.kafka.tools.VerifiableShareConsumer",
}

# The scripts' KAFKA_HEAP_OPTS for tools; the rest trades peak speed for start-up time.
JVM_OPTS = (
    "-Xmx256m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-Xshare:auto",
    "-XX:-UsePerfData",
    "-Djava.awt.headless=true",
)

LOG4J2 = Path(__file__).with_name("tools-log4j2.properties")


class ToolError(Exception):
    """Why a tool cannot be run (one line, for the user)."""


def find_jars(env: dict[str, str] | None = None, cwd: Path | None = None) -> Path:
    """The directory of Kafka's jars: $KPY_KAFKA_JARS, ./.cache/kafka-4.4.0 or the
    checkout's; ToolError naming where it looked if none holds kafka-clients."""
    env = os.environ if env is None else env
    relative = Path(".cache") / f"kafka-{KAFKA_VERSION}"
    if env.get("KPY_KAFKA_JARS"):
        candidates = [Path(env["KPY_KAFKA_JARS"])]
    else:
        candidates = [(cwd or Path.cwd()) / relative, _CHECKOUT / relative]
    for directory in candidates:
        if any(directory.glob("kafka-clients-*.jar")):
            return directory.resolve()
    looked = " or ".join(str(d) for d in dict.fromkeys(candidates))
    raise ToolError(
        f"no Kafka jars in {looked}: set KPY_KAFKA_JARS to a directory of Kafka "
        f"{KAFKA_VERSION}'s jars (make kafka-jars fetches them into {relative})"
    )


def java_executable(env: dict[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    if env.get("JAVA_HOME"):
        return str(Path(env["JAVA_HOME"]) / "bin" / "java")
    found = shutil.which("java")
    if found is None:
        raise ToolError("java not found: install a JDK 17+ or set JAVA_HOME")
    return found


def main_class(name: str) -> str:
    name = name.removesuffix(".sh")
    try:
        return TOOLS[name]
    except KeyError:
        raise ToolError(f"unknown Kafka tool {name!r}; known: {', '.join(TOOLS)}") from None


def jvm_command(jars: Path, env: dict[str, str] | None = None) -> list[str]:
    """java, its options and the class path of Kafka's jars: a tool's command line up to
    the main class."""
    env = os.environ if env is None else env
    return [
        java_executable(env),
        *JVM_OPTS,
        f"-Dlog4j2.configurationFile={LOG4J2}",
        *shlex.split(env.get("KAFKA_OPTS", "")),
        "-cp",
        f"{jars}/*",
    ]


def command(
    name: str,
    args: list[str],
    *,
    jars: Path | None = None,
    env: dict[str, str] | None = None,
) -> list[str]:
    """The java command line that runs tool ``name`` (``kafka-topics`` or
    ``kafka-topics.sh``) with ``args``."""
    env = os.environ if env is None else env
    cls = main_class(name)
    return [*jvm_command(jars or find_jars(env), env), cls, *args]
