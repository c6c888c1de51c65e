"""The web console in a real headless Chromium: every page loads without errors in the
browser's console, and what the pages show and do agrees with real Kafka clients
(confluent-kafka) talking to the same broker.

One browser and one broker (a ``kpy serve`` process with the HTTP server on port 0) for the
module; each test makes its own topics and groups.
"""

from __future__ import annotations

import json
import uuid

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from kpy.testing import BrokerProcess
from tests.integration.browser import Browser, require_chromium
from tests.integration.helpers import wait_for

pytestmark = pytest.mark.timeout(180)


class Console:
    """A broker with its console, and the URL of each page."""

    def __init__(self, proc: BrokerProcess) -> None:
        self.proc = proc
        self.bootstrap = proc.bootstrap
        self.url = proc.http

    def page(self, path: str) -> str:
        return self.url + path


@pytest.fixture(scope="module")
def browser():
    chromium, driver = require_chromium()
    with Browser(chromium, driver) as b:
        yield b


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    data = tmp_path_factory.mktemp("console") / "data"
    with BrokerProcess(data, overrides={"http.listeners": "http://127.0.0.1:0"}) as proc:
        yield Console(proc)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create_topic(console: Console, name: str, partitions: int = 1, **configs: str) -> None:
    admin = AdminClient({"bootstrap.servers": console.bootstrap})
    futures = admin.create_topics([NewTopic(name, partitions, 1, config=configs)])
    futures[name].result(15)
    wait_for(lambda: name in admin.list_topics(timeout=5).topics, message=f"topic {name}")


def produce(console: Console, topic: str, records: list[dict], client_id: str = "console-test"):
    producer = Producer({"bootstrap.servers": console.bootstrap, "client.id": client_id})
    for r in records:
        producer.produce(topic, **r)
    assert producer.flush(15) == 0


def commit_all(console: Console, topic: str, group: str) -> None:
    """A classic consumer of ``group`` reads ``topic`` to its end, commits and leaves."""
    consumer = Consumer(
        {
            "bootstrap.servers": console.bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    try:
        consumer.subscribe([topic])
        end = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1]
        seen = []
        wait_for(
            lambda: (
                seen.extend(m for m in [consumer.poll(0.2)] if m and not m.error())
                or len(seen) >= end
            ),
            message="every record consumed",
        )
        consumer.commit(asynchronous=False)
    finally:
        consumer.close()


def committed(console: Console, group: str, topic: str, partitions: int = 1) -> list[int]:
    consumer = Consumer({"bootstrap.servers": console.bootstrap, "group.id": group})
    try:
        tps = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], 10)
        return [tp.offset for tp in tps]
    finally:
        consumer.close()


def text_of(browser: Browser, css: str) -> str:
    return browser.driver.find_element("css selector", css).text


def assert_no_console_errors(browser: Browser, where: str) -> None:
    errors = browser.errors()
    assert not errors, f"{where}: the browser's console logged errors: {errors}"


# -- every page ------------------------------------------------------------------------------


def test_every_page_loads_without_console_errors(console, browser):
    topic, group = unique("pages"), unique("pages-group")
    create_topic(console, topic, 2, **{"retention.ms": "3600000"})
    produce(console, topic, [{"key": b"k", "value": b'{"n": 1}', "partition": 0}])
    commit_all(console, topic, group)
    browser.log()  # start from a clean log
    pages = {
        "/": "Overview",
        "/topics": "Topics",
        f"/topics/{topic}": topic,
        f"/topics/{topic}/messages?partition=0": f"Messages · {topic} · partition 0",
        f"/topics/{topic}/produce": f"Produce a message to {topic}",
        "/groups": "Groups",
        f"/groups/{group}": group,
        "/broker": "Broker configs",
        "/clients": "Connected clients",
    }
    for path, heading in pages.items():
        browser.open(console.page(path))
        assert text_of(browser, "h1") == heading, path
        assert_no_console_errors(browser, path)
    # The overview's charts: its script polled the rates and drew them (a number beside
    # each chart's title), still without an error.
    browser.open(console.page("/"))
    wait_for(
        lambda: all(e.text for e in browser.driver.find_elements("css selector", "[data-now]")),
        message="the charts' current rates",
    )
    assert_no_console_errors(browser, "/ after polling")


def test_a_missing_topic_is_a_404_page_that_says_so(console, browser):
    browser.open(console.page("/topics/no-such-topic"))
    assert "UNKNOWN_TOPIC_OR_PARTITION" in text_of(browser, ".flash.error")
    # The browser logs the 404 of the page itself; nothing else failed.
    assert all("404" in e for e in browser.errors())


# -- topics and records ----------------------------------------------------------------------


def test_the_topics_page_lists_a_topic_a_client_created(console, browser):
    topic = unique("listed")
    create_topic(console, topic, 3)
    browser.open(console.page("/topics"))
    row = browser.driver.find_element("xpath", f"//tr[td/a[text()='{topic}']]")
    assert row.find_elements("css selector", "td")[1].text == "3"  # partitions
    browser.driver.find_element("link text", topic).click()
    assert text_of(browser, "h1") == topic
    assert (
        len(
            browser.driver.find_elements("css selector", "main table")[0].find_elements(
                "css selector", "tbody tr"
            )
        )
        == 3
    )


def test_the_topic_page_shows_configs_that_differ_from_the_defaults(console, browser):
    topic = unique("configured")
    create_topic(console, topic, 1, **{"retention.ms": "123456", "cleanup.policy": "compact"})
    browser.open(console.page(f"/topics/{topic}"))
    rows = {
        tr.find_elements("css selector", "td")[0].text: tr.find_elements("css selector", "td")[
            1
        ].text
        for tr in browser.driver.find_elements(
            "xpath", "//h2[starts-with(., 'Configs')]/following-sibling::table[1]/tbody/tr"
        )
    }
    assert rows["retention.ms"] == "123456" and rows["cleanup.policy"] == "compact"
    assert "segment.bytes" not in rows  # at its default


def test_the_message_browser_shows_a_record_a_client_produced(console, browser):
    topic = unique("browsed")
    create_topic(console, topic, 2)
    value = {"order": 17, "items": ["tea", "<b>scones</b>"]}
    produce(
        console,
        topic,
        [
            {"key": b"first", "value": b"plain text", "partition": 1},
            {
                "key": b"order-17",
                "value": json.dumps(value).encode(),
                "headers": [("source", b"test"), ("trace", b"abc")],
                "partition": 1,
            },
        ],
    )
    browser.open(console.page(f"/topics/{topic}/messages?partition=1"))
    rows = browser.driver.find_elements("css selector", "#records-table tbody tr")
    assert [r.get_attribute("data-offset") for r in rows] == ["1", "0"]  # newest first
    newest = rows[0]
    assert newest.find_element("css selector", ".record-key").text == "order-17"
    # JSON pretty-printed, and markup in it shown as text.
    assert newest.find_element("css selector", ".record-value").text == json.dumps(value, indent=2)
    assert "source: test" in newest.text and "trace: abc" in newest.text
    # Text search within the loaded records hides the rows that do not match.
    search = browser.driver.find_element("css selector", "input[data-filter='records-table']")
    search.send_keys("plain")
    assert [r.is_displayed() for r in rows] == [False, True]
    assert_no_console_errors(browser, "message browser")


def test_the_message_browser_seeks_by_offset_and_by_time(console, browser):
    topic = unique("seek")
    create_topic(console, topic, 1)
    base = 1_700_000_000_000
    produce(
        console,
        topic,
        [{"value": f"v{i}".encode(), "timestamp": base + i * 1000} for i in range(10)],
    )
    browser.open(console.page(f"/topics/{topic}/messages?partition=0&seek=offset&offset=7"))
    offsets = [
        r.get_attribute("data-offset")
        for r in browser.driver.find_elements("css selector", "#records-table tbody tr")
    ]
    assert offsets == ["9", "8", "7"]
    # 2023-11-14T22:13:25 UTC is base + 5 s: records 5 to 9.
    browser.open(
        console.page(f"/topics/{topic}/messages?partition=0&seek=time&time=2023-11-14T22:13:25")
    )
    offsets = [
        r.get_attribute("data-offset")
        for r in browser.driver.find_elements("css selector", "#records-table tbody tr")
    ]
    assert offsets == ["9", "8", "7", "6", "5"]


def test_a_message_produced_through_the_form_is_consumed_by_a_client(console, browser):
    topic = unique("produced")
    create_topic(console, topic, 3)
    browser.open(console.page(f"/topics/{topic}/produce"))
    driver = browser.driver
    driver.find_element("css selector", "select[name=partition] option[value='2']").click()
    driver.find_element("name", "key").send_keys("user-42")
    driver.find_element("name", "value").send_keys('{"event": "signup"}')
    driver.find_element("name", "headers").send_keys("origin=console\nretry=0")
    driver.find_element("css selector", "form button[type=submit]").click()
    wait_for(lambda: driver.find_elements("css selector", ".flash.ok"), message="the flash")
    assert "partition 2 at offset 0" in text_of(browser, ".flash.ok")
    assert_no_console_errors(browser, "after producing")

    consumer = Consumer(
        {
            "bootstrap.servers": console.bootstrap,
            "group.id": unique("reader"),
            "auto.offset.reset": "earliest",
        }
    )
    try:
        consumer.assign([TopicPartition(topic, 2, 0)])
        message = wait_for(
            lambda: (m := consumer.poll(0.5)) is not None and not m.error() and m,
            message="the produced record",
        )
    finally:
        consumer.close()
    assert message.key() == b"user-42"
    assert message.value() == b'{"event": "signup"}'
    assert message.headers() == [("origin", b"console"), ("retry", b"0")]


# -- groups ----------------------------------------------------------------------------------


def test_a_group_reset_through_the_ui_changes_the_committed_offsets(console, browser):
    topic, group = unique("reset"), unique("reset-group")
    create_topic(console, topic, 1)
    produce(console, topic, [{"value": f"r{i}".encode()} for i in range(6)])
    commit_all(console, topic, group)
    assert committed(console, group, topic) == [6]

    browser.open(console.page(f"/groups/{group}"))
    assert text_of(browser, "#offsets-table tbody tr td.committed") == "6"
    driver = browser.driver
    driver.find_element("css selector", "select[name=to] option[value='offset']").click()
    driver.find_element("name", "offset").send_keys("2")
    driver.find_element("xpath", "//form[contains(@action, '/reset')]//button").click()
    wait_for(lambda: driver.find_elements("css selector", ".flash.ok"), message="the flash")
    assert text_of(browser, "#offsets-table tbody tr td.committed") == "2"
    assert committed(console, group, topic) == [2]

    driver.find_element("css selector", "select[name=to] option[value='earliest']").click()
    driver.find_element("xpath", "//form[contains(@action, '/reset')]//button").click()
    wait_for(
        lambda: text_of(browser, "#offsets-table tbody tr td.committed") == "0",
        message="the earliest offset",
    )
    assert committed(console, group, topic) == [0]
    assert_no_console_errors(browser, "group reset")


def test_a_reset_of_a_group_with_members_shows_kafkas_error(console, browser):
    topic, group = unique("busy"), unique("busy-group")
    create_topic(console, topic, 1)
    produce(console, topic, [{"value": b"x"}])
    consumer = Consumer(
        {
            "bootstrap.servers": console.bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "client.id": "busy-member",
        }
    )
    try:
        consumer.subscribe([topic])
        wait_for(
            lambda: consumer.poll(0.2) is not None or consumer.assignment(),
            message="the consumer's assignment",
        )
        browser.open(console.page(f"/groups/{group}"))
        assert "busy-member" in browser.driver.find_element("css selector", "main table").text
        browser.driver.find_element("xpath", "//form[contains(@action, '/reset')]//button").click()
        wait_for(
            lambda: browser.driver.find_elements("css selector", ".flash.error"),
            message="the error",
        )
        error = text_of(browser, ".flash.error")
        assert "NON_EMPTY_GROUP" in error and "inactive" in error and "Stable" in error
        browser.log()  # the 409 answer of the post is logged; nothing else is expected
    finally:
        consumer.close()


# -- clients ---------------------------------------------------------------------------------


def test_the_clients_page_shows_a_connected_clients_id(console, browser):
    topic, client_id = unique("clients"), unique("connected-client")
    create_topic(console, topic, 1)
    # A record delivered: the producer holds a connection to the partition's leader
    # (librdkafka drops its bootstrap connection once it knows the brokers).
    producer = Producer({"bootstrap.servers": console.bootstrap, "client.id": client_id})
    producer.produce(topic, b"hello")
    assert producer.flush(15) == 0

    def listed() -> bool:
        browser.open(console.page("/clients"))
        ids = [e.text for e in browser.driver.find_elements("css selector", "td.client-id")]
        return client_id in ids

    wait_for(listed, message=f"{client_id} on the clients page")
    row = browser.driver.find_element(
        "xpath", f"//tr[td[@class='client-id' and text()='{client_id}']]"
    )
    assert "confluent-kafka-python" in row.text or "librdkafka" in row.text  # from ApiVersions
    # The requests/s cell is filled in by the page's polling.
    wait_for(
        lambda: row.find_elements("css selector", "td")[-1].text.endswith("/s"),
        message="the client's request rate",
    )
    assert_no_console_errors(browser, "clients")
    del producer


def test_a_kip_848_consumer_group_shows_its_member_and_assignment(console, browser):
    topic, group = unique("kip848"), unique("kip848-group")
    create_topic(console, topic, 2)
    consumer = Consumer(
        {
            "bootstrap.servers": console.bootstrap,
            "group.id": group,
            "group.protocol": "consumer",
            "client.id": "new-protocol-member",
        }
    )
    try:
        consumer.subscribe([topic])
        wait_for(
            lambda: consumer.poll(0.2) is not None or len(consumer.assignment()) == 2,
            message="the consumer's assignment",
        )
        browser.open(console.page("/groups"))
        row = browser.driver.find_element("xpath", f"//tr[td/a[text()='{group}']]")
        assert row.find_elements("css selector", "td")[1].text == "consumer (KIP-848)"
        browser.open(console.page(f"/groups/{group}"))
        members = browser.driver.find_element("css selector", "main table").text
        assert "new-protocol-member" in members and f"{topic}: 0, 1" in members
        assert_no_console_errors(browser, "KIP-848 group")
    finally:
        consumer.close()
