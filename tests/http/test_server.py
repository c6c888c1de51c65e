"""The HTTP server in the broker process: http.listeners, /health, the console's mount, the
ready line, start-up failures and quiet logs."""

from __future__ import annotations

import logging
import re
import socket
import time

import httpx
import pytest

from kpy.config import Config, ConfigError
from kpy.http.app import HttpContext, health, host_allowed
from kpy.server import StartupError, ready_line
from kpy.testing import BrokerProcess, BrokerThread, in_process_broker

HTTP_ON = {"http.listeners": "http://127.0.0.1:0"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, []),
        ("", []),
        ("http://127.0.0.1:8080", [("127.0.0.1", 8080)]),
        ("http://:0, http://[::1]:9000/", [("", 0), ("::1", 9000)]),
        ("http://localhost:0,http://localhost:0", [("localhost", 0), ("localhost", 0)]),
    ],
)
def test_http_listeners_values(value, expected):
    values = {"http.listeners": value} if value is not None else {}
    assert Config(values).http_listeners() == expected


@pytest.mark.parametrize(
    "value", ["127.0.0.1:8080", "https://127.0.0.1:8443", "http://h:99999", "http://a:1,http://a:1"]
)
def test_a_bad_http_listeners_value_names_the_key_and_the_value(value):
    with pytest.raises(ConfigError) as raised:
        Config({"http.listeners": value})
    assert "http.listeners" in str(raised.value) and value in str(raised.value)


def test_the_sample_config_turns_http_on_at_8080():
    assert Config.from_file("config/server.properties").http_listeners() == [("127.0.0.1", 8080)]


async def test_health_is_ready_once_the_broker_serves(tmp_path):
    async with in_process_broker(tmp_path, HTTP_ON) as b:
        [url] = b.info.http
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url) and not url.endswith(":0")
        async with httpx.AsyncClient(base_url=url) as client:
            answer = await client.get("/health")
            assert answer.status_code == 200
            assert answer.headers["content-type"] == "application/json"
            body = answer.json()
            assert body["status"] == "ready"
            assert body["node_id"] == 1 and body["bootstrap"] == b.info.bootstrap
            assert len(body["cluster_id"]) == 22
            console = await client.get("/")
            assert console.status_code == 200 and "kpy console" in console.text
            icon = await client.get("/static/favicon.svg")
            assert icon.status_code == 200 and icon.text.startswith("<svg")
            assert (await client.get("/no/such/page")).status_code == 404


async def test_health_is_not_ready_while_starting_or_with_a_log_dir_offline(tmp_path):
    async with in_process_broker(tmp_path, HTTP_ON) as b:
        ctx = HttpContext(b.broker, b.info)
        status, body = health(ctx)
        assert (status, body["status"], body["reasons"]) == (503, "not ready", ["starting"])
        ctx.ready = True
        assert health(ctx)[0] == 200
        b.broker.logs.failures.fail(str(tmp_path), "a test", OSError(5, "Input/output error"))
        status, body = health(ctx)
        assert status == 503 and body["reasons"] == [f"log dir {tmp_path} is offline"]
        async with httpx.AsyncClient(base_url=b.info.http[0]) as client:
            answer = await client.get("/health")
        assert answer.status_code == 503 and answer.json()["status"] == "not ready"


async def test_no_http_server_unless_configured(tmp_path):
    async with in_process_broker(tmp_path) as b:
        assert b.info.http == []
        assert "http=" not in ready_line(b.info, 0.1)


async def test_the_ready_line_shows_the_http_address(tmp_path):
    async with in_process_broker(tmp_path, HTTP_ON) as b:
        line = ready_line(b.info, 0.1)
    assert f" http={b.info.http[0]} " in line


async def test_an_http_port_in_use_stops_start_up_with_one_line(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(StartupError) as raised:
            async with in_process_broker(tmp_path, {"http.listeners": f"http://127.0.0.1:{port}"}):
                pass
    assert str(raised.value).startswith(f"HTTP server failed to bind to 127.0.0.1:{port}: ")
    assert "(http.listeners)" in str(raised.value)
    assert not (tmp_path / "meta.properties").exists()  # nothing read or written


async def test_hypercorn_writes_nothing_at_info(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    async with in_process_broker(tmp_path, HTTP_ON) as b, httpx.AsyncClient() as client:
        assert (await client.get(b.info.http[0] + "/health")).status_code == 200
    http_records = [r for r in caplog.records if r.name.startswith(("hypercorn", "kpy.http"))]
    assert any("GET /health -> 200" in r.getMessage() for r in http_records)
    assert all(r.levelno <= logging.DEBUG for r in http_records), http_records


def test_kpy_serve_prints_the_http_address_and_serves_health(tmp_path):
    with BrokerProcess(tmp_path / "data", overrides=HTTP_ON) as broker:
        [ready] = [line for line in broker.output if line.startswith("kpy ready:")]
        url = re.search(r" http=(\S+) ", ready).group(1)
        assert re.fullmatch(r"http://127\.0\.0\.1:[1-9]\d*", url) and broker.http == url
        with httpx.Client(base_url=url, timeout=10) as client:  # a kept-alive connection
            answer = client.get("/health")
            assert answer.status_code == 200 and answer.json()["status"] == "ready"
            started = time.monotonic()
            assert broker.stop() == 0
            assert time.monotonic() - started < 3  # an open HTTP connection does not hold it
    assert "Running on" not in broker.log_path.read_text()


async def test_an_app_error_on_every_request_leaves_one_line(caplog):
    import trio

    from kpy.http.server import serve_http
    from kpy.http.sockets import bind

    async def failing(scope, receive, send):
        if scope["type"] == "http":
            raise RuntimeError("a bug in a page")
        while True:  # lifespan
            message = await receive()
            await send({"type": message["type"] + ".complete"})

    caplog.set_level(logging.DEBUG)
    async with trio.open_nursery() as nursery:
        [url] = await nursery.start(serve_http, failing, bind([("127.0.0.1", 0)]))
        async with httpx.AsyncClient(base_url=url) as client:
            for _ in range(20):
                assert (await client.get("/")).status_code == 500
        nursery.cancel_scope.cancel()
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(errors) == 1 and errors[0].name == "kpy.http"
    assert errors[0].exc_info is not None and errors[0].exc_info[0] is RuntimeError


def test_a_broker_thread_tells_its_http_url(tmp_path):
    with BrokerThread(tmp_path, HTTP_ON) as b:
        assert b.http.startswith("http://127.0.0.1:")
        assert httpx.get(b.http + "/health", timeout=10).json()["status"] == "ready"
    with BrokerThread(tmp_path / "off") as b:
        assert b.http == ""


@pytest.mark.parametrize(
    ("server", "host", "allowed"),
    [
        ("127.0.0.1", "127.0.0.1:8080", True),
        ("127.0.0.1", "localhost:8080", True),
        ("127.0.0.1", "LOCALHOST", True),
        ("127.0.0.1", "console.localhost:8080", True),
        ("::1", "[::1]:8080", True),
        ("::1", "[::1]", True),
        ("127.0.0.1", None, True),
        ("127.0.0.1", "rebound.example:8080", False),
        ("127.0.0.1", "127.0.0.1.rebound.example", False),
        ("::1", "[2001:db8::1]:8080", False),
        ("192.0.2.7", "kafka.example:8080", True),  # not loopback: served whatever it names
    ],
)
def test_a_loopback_listener_serves_only_loopback_hosts(server, host, allowed):
    assert host_allowed(server, host) is allowed


async def test_a_page_reached_by_dns_rebinding_is_refused(tmp_path):
    # A hostile page whose name was made to resolve to 127.0.0.1: the browser sends its name.
    async with in_process_broker(tmp_path, HTTP_ON) as b:
        port = b.info.http[0].rsplit(":", 1)[1]
        async with httpx.AsyncClient(base_url=b.info.http[0]) as client:
            rebound = await client.get("/topics", headers={"host": f"rebound.example:{port}"})
            post = await client.post(
                "/groups/g/reset",
                data={"to": "earliest"},
                headers={
                    "host": f"rebound.example:{port}",
                    "origin": f"http://rebound.example:{port}",
                },
            )
            local = await client.get("/topics", headers={"host": f"localhost:{port}"})
    assert rebound.status_code == 403 and "loopback" in rebound.text
    assert post.status_code == 403
    assert local.status_code == 200
