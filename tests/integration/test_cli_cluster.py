"""``kpy cluster info``, for people and with --json, against kpy and Apache Kafka."""

from __future__ import annotations

import re

from tests.integration.cli_helpers import kpy, kpy_script, one_error_line


def _port(bootstrap: str) -> int:
    return int(bootstrap.rpartition(":")[2])


def test_info_json(bootstrap, broker_kind, capsys):
    info = kpy(capsys, "cluster info --json -b", bootstrap).json()
    assert set(info) == {
        "cluster_id",
        "controller_id",
        "brokers",
        "features_epoch",
        "features",
        "apis",
    }
    assert isinstance(info["cluster_id"], str) and len(info["cluster_id"]) == 22
    ids = [b["id"] for b in info["brokers"]]
    assert info["controller_id"] in ids
    assert _port(bootstrap) in [b["port"] for b in info["brokers"]]
    assert all(set(b) == {"id", "host", "port", "rack"} for b in info["brokers"])

    apis = {a["name"]: a for a in info["apis"]}
    assert apis["ApiVersions"]["key"] == 18
    assert apis["ApiVersions"]["min_version"] == 0 and apis["ApiVersions"]["max_version"] >= 4
    assert apis["Produce"]["key"] == 0 and apis["Produce"]["max_version"] >= 9
    assert [a["key"] for a in info["apis"]] == sorted(a["key"] for a in info["apis"])

    features = {f["name"]: f for f in info["features"]}
    if broker_kind == "kafka":
        version = features["metadata.version"]
        assert version["supported_min"] <= version["finalized_level"] <= version["supported_max"]
        assert info["features_epoch"] >= 0
    else:  # kpy has no feature flags (README: Kafka's own tools)
        assert features == {} and info["features_epoch"] == -1


def test_info_for_people(bootstrap, broker_kind, capsys):
    ran = kpy(capsys, "cluster info -b", bootstrap)
    assert ran.code == 0, ran.err
    info = kpy(capsys, "cluster info --json -b", bootstrap).json()
    assert re.search(rf"^CLUSTER ID\s+{re.escape(info['cluster_id'])}$", ran.out, re.M)
    assert re.search(rf"^CONTROLLER\s+{info['controller_id']}$", ran.out, re.M)
    assert re.search(rf"^\s*{info['controller_id']}\s+\S+\s+{_port(bootstrap)}\s+-$", ran.out, re.M)
    if broker_kind == "kafka":
        assert re.search(r"^metadata\.version\s+\d+\s+\d+-\d+$", ran.out, re.M)
    else:
        assert "(the broker reports no features)" in ran.out
    assert "ApiVersions" not in ran.out  # the API table only with --apis

    apis = kpy(capsys, "cluster info --apis -b", bootstrap)
    assert apis.code == 0
    table = apis.out.split("KEY ")[1]
    for a in info["apis"]:
        assert re.search(
            rf"^\s*{a['key']}\s+{a['name']}\s+{a['min_version']}\s+{a['max_version']}$",
            table,
            re.M,
        )


def test_unreachable_broker_is_one_line(capsys):
    one_error_line(kpy(capsys, "cluster info -b 127.0.0.1:1"), "NETWORK_EXCEPTION")
    assert kpy(capsys, "cluster info -b not-an-address").code == 1
    assert kpy(capsys, "cluster info --bogus").code == 2
    assert kpy(capsys, "cluster").code == 2


def test_the_kpy_script(bootstrap):
    ran = kpy_script("cluster info --json -b", bootstrap)
    assert _port(bootstrap) in [b["port"] for b in ran.json()["brokers"]]
    assert kpy_script("cluster info --apis -b", bootstrap).out.count("ApiVersions") == 1
