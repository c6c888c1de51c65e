"""Screenshots of every console page for the README: ``python -m tests.integration.console_screenshots``
(or ``make screenshots``) writes docs/console/*.png, 1280x800, from a fresh broker filled with
some realistic traffic (orders, payments, an audit log; two consumer groups, one behind;
producers and consumers still connected while the pictures are taken).

Needs Chromium and chromedriver as the browser tests do (tests/integration/browser.py).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from kpy.testing import BrokerProcess
from tests.integration.browser import Browser, chromium_paths

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "console"

CUSTOMERS = ["acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "tyrell"]
ITEMS = ["espresso beans", "oat milk", "paper filters", "grinder", "kettle", "mug", "scale"]


def order(n: int, rng: random.Random) -> dict:
    lines = [
        {"sku": rng.choice(ITEMS), "qty": rng.randint(1, 4), "price": round(rng.uniform(3, 90), 2)}
        for _ in range(rng.randint(1, 3))
    ]
    return {
        "order_id": f"ord-{10_000 + n}",
        "customer": rng.choice(CUSTOMERS),
        "lines": lines,
        "total": round(sum(line["qty"] * line["price"] for line in lines), 2),
        "currency": "EUR",
    }


def fill(bootstrap: str, rng: random.Random) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    topics = [
        NewTopic("orders", 3, 1, config={"retention.ms": "259200000", "compression.type": "zstd"}),
        NewTopic("payments", 2, 1, config={"retention.ms": "604800000"}),
        NewTopic(
            "customer-profiles", 1, 1, config={"cleanup.policy": "compact", "segment.ms": "3600000"}
        ),
        NewTopic("audit-log", 1, 1, config={"retention.bytes": "1073741824"}),
    ]
    for future in admin.create_topics(topics).values():
        future.result(15)
    producer = Producer({"bootstrap.servers": bootstrap, "client.id": "checkout-service"})
    for n in range(240):
        o = order(n, rng)
        producer.produce(
            "orders",
            key=o["customer"].encode(),
            value=json.dumps(o).encode(),
            headers=[("source", b"web"), ("schema", b"order.v2")],
        )
        if n % 3 == 0:
            payment = {"order_id": o["order_id"], "amount": o["total"], "method": "card"}
            producer.produce(
                "payments", key=o["order_id"].encode(), value=json.dumps(payment).encode()
            )
    for c in CUSTOMERS:
        profile = {"id": c, "tier": rng.choice(["free", "pro", "enterprise"])}
        producer.produce("customer-profiles", key=c.encode(), value=json.dumps(profile).encode())
    for n in range(50):
        producer.produce("audit-log", value=f"user admin{n % 3} logged in from 10.0.0.{n}".encode())
    assert producer.flush(15) == 0


def consume(bootstrap: str, group: str, topic: str, limit: int, client_id: str) -> None:
    """A consumer of ``group`` reads up to ``limit`` records of ``topic``, commits and leaves."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "client.id": client_id,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    seen, deadline = 0, time.monotonic() + 20
    while seen < limit and time.monotonic() < deadline:
        message = consumer.poll(0.2)
        if message is not None and not message.error():
            seen += 1
    consumer.commit(asynchronous=False)
    consumer.close()


class Traffic:
    """Producers and a consumer group running while the pictures are taken, so the charts
    move and the clients page has clients."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(target=self.produce, daemon=True),
            threading.Thread(target=self.consume, args=("fulfilment", "classic"), daemon=True),
            threading.Thread(target=self.consume, args=("shipping", "consumer"), daemon=True),
        ]

    def produce(self) -> None:
        rng = random.Random(7)
        producer = Producer({"bootstrap.servers": self.bootstrap, "client.id": "checkout-service"})
        n = 1000
        while not self.stop.is_set():
            burst = int(20 + 15 * (1 + math.sin(n / 40)))
            for _ in range(burst):
                o = order(n, rng)
                producer.produce("orders", key=o["customer"].encode(), value=json.dumps(o).encode())
                n += 1
            producer.poll(0)
            time.sleep(0.2)
        producer.flush(10)

    def consume(self, group: str, protocol: str) -> None:
        consumer = Consumer(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": group,
                "group.protocol": protocol,  # classic, or KIP-848's consumer protocol
                "client.id": f"{group}-worker-1",
                "auto.offset.reset": "earliest",
            }
        )
        consumer.subscribe(["orders"])
        while not self.stop.is_set():
            consumer.poll(0.2)
        consumer.close()

    def __enter__(self) -> Traffic:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(15)


def fill_produce_form(browser: Browser) -> None:
    """What a person about to produce a record has typed."""
    driver = browser.driver
    driver.find_element("name", "key").send_keys("acme")
    value = {"order_id": "ord-20001", "customer": "acme", "total": 42.5, "currency": "EUR"}
    driver.find_element("name", "value").send_keys(json.dumps(value, indent=2))
    driver.find_element("name", "headers").send_keys("source=console\nschema=order.v2")


PAGES = [
    ("overview", "/"),
    ("topics", "/topics"),
    ("topic", "/topics/orders"),
    ("messages", "/topics/orders/messages?partition=0&limit=20"),
    ("produce", "/topics/orders/produce?partition=1"),
    ("groups", "/groups"),
    ("group", "/groups/billing"),
    ("broker", "/broker"),
    ("clients", "/clients"),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="directory of the PNGs")
    parser.add_argument("--warmup", type=float, default=40.0, help="seconds of traffic first")
    args = parser.parse_args(argv)
    found = chromium_paths()
    if isinstance(found, str):
        print(f"console_screenshots: {found}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(2026)
    with tempfile.TemporaryDirectory() as tmp:
        overrides = {"http.listeners": "http://127.0.0.1:0"}
        with BrokerProcess(Path(tmp) / "data", overrides=overrides) as proc:
            url = proc.http
            fill(proc.bootstrap, rng)
            consume(proc.bootstrap, "billing", "payments", 50, "billing-job")
            consume(proc.bootstrap, "search-indexer", "customer-profiles", 8, "indexer")
            with Traffic(proc.bootstrap), Browser(*found) as browser:
                browser.open(url + "/")
                time.sleep(args.warmup)  # the charts fill with a minute of polls
                for name, path in PAGES:
                    if name != "overview":
                        browser.open(url + path)
                        time.sleep(1.5)  # the clients page's rates: two polls
                    if name == "produce":
                        fill_produce_form(browser)
                    target = args.out / f"{name}.png"
                    browser.screenshot(target)
                    print(f"{target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
