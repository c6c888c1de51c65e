"""The console's pages over HTTP without a browser: what they print is escaped, forms from
other sites are refused, wrong form values and Kafka's errors come back as pages that name
them. (tests/integration/test_console.py drives the same pages in Chromium.)"""

from __future__ import annotations

import re

import httpx
import pytest

from kpy.client import Client, admin, groups
from kpy.client.partitioner import partition_for_key
from kpy.client.produce import ProducerRecord, produce
from kpy.testing import in_process_broker

pytestmark = pytest.mark.timeout(30)

HTTP_ON = {"http.listeners": "http://127.0.0.1:0"}
HOSTILE = '<script>alert("x")</script>'


async def test_what_clients_wrote_is_escaped_in_the_pages(tmp_path):
    async with in_process_broker(tmp_path, HTTP_ON) as b:
        async with Client.local(b.broker) as c:
            await admin.create_topic(c, "escaped", 1)
            record = ProducerRecord(
                HOSTILE.encode(), key=HOSTILE.encode(), headers=[(HOSTILE, b"<i>")]
            )
            await produce(c, "escaped", [record])
        async with httpx.AsyncClient(base_url=b.info.http[0]) as http:
            page = (await http.get("/topics/escaped/messages")).text
    assert "<script>alert" not in page and "<i>" not in page
    assert page.count("&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") == 3  # key, value, header


async def test_forms_posted_from_another_site_are_refused(tmp_path):
    async with in_process_broker(tmp_path, HTTP_ON) as b:
        async with Client.local(b.broker) as c:
            await admin.create_topic(c, "guarded", 1)
        async with httpx.AsyncClient(base_url=b.info.http[0]) as http:
            form = {"partition": "0", "key": "", "value": "v", "headers": ""}
            foreign = await http.post(
                "/topics/guarded/produce", data=form, headers={"origin": "https://evil.example"}
            )
            assert foreign.status_code == 403
            reset = await http.post(
                "/groups/g/reset", data={"to": "earliest"}, headers={"origin": "null"}
            )
            assert reset.status_code == 403
            own = await http.post(
                "/topics/guarded/produce", data=form, headers={"origin": b.info.http[0]}
            )
            assert own.status_code == 303
        async with Client.local(b.broker) as c:
            described = await admin.describe_topic(c, "guarded")
    assert described.partitions[0].high_watermark == 1  # only the console's own post


async def test_wrong_values_are_named(tmp_path):
    async with in_process_broker(tmp_path, HTTP_ON) as b:
        async with Client.local(b.broker) as c:
            await admin.create_topic(c, "checked", 2)
        async with httpx.AsyncClient(base_url=b.info.http[0]) as http:
            bad_offset = await http.get("/topics/checked/messages?seek=offset&offset=ten")
            assert bad_offset.status_code == 400 and "offset &#39;ten&#39;" in bad_offset.text
            no_offset = await http.get("/topics/checked/messages?seek=offset&offset=")
            assert no_offset.status_code == 400 and "an offset is needed" in no_offset.text
            bad_time = await http.get("/topics/checked/messages?seek=time&time=soon")
            assert bad_time.status_code == 400 and "&#39;soon&#39; is not a time" in bad_time.text
            no_partition = await http.get("/topics/checked/messages?partition=7")
            assert (
                no_partition.status_code == 404
                and "checked has no partition 7" in no_partition.text
            )
            produce = await http.post(
                "/topics/checked/produce",
                data={"partition": "9", "key": "", "value": "kept", "headers": ""},
            )
            # The form comes back with the error and what was typed.
            assert produce.status_code == 400 and "checked has no partition 9" in produce.text
            assert ">kept</textarea>" in produce.text
            headers = await http.post(
                "/topics/checked/produce",
                data={"partition": "", "key": "", "value": "v", "headers": "=x"},
            )
            assert headers.status_code == 400 and "has no name" in headers.text
            reset = await http.post("/groups/nobody/reset", data={"to": "offset", "offset": ""})
            # No such group either: the page says both.
            assert reset.status_code == 404 and "an offset is needed" in reset.text
            assert "GROUP_ID_NOT_FOUND" in reset.text


async def test_kafkas_errors_are_pages_with_their_names(tmp_path):
    async with (
        in_process_broker(tmp_path, HTTP_ON) as b,
        httpx.AsyncClient(base_url=b.info.http[0]) as http,
    ):
        topic = await http.get("/topics/absent")
        group = await http.get("/groups/absent")
        reset = await http.post("/groups/absent/reset", data={"to": "earliest"})
    assert topic.status_code == 404 and "UNKNOWN_TOPIC_OR_PARTITION" in topic.text
    assert group.status_code == 404 and "GROUP_ID_NOT_FOUND" in group.text
    assert reset.status_code == 404 and "GROUP_ID_NOT_FOUND" in reset.text


async def test_a_produced_record_is_shown_where_it_landed(tmp_path):
    async with in_process_broker(tmp_path, HTTP_ON) as b:
        async with Client.local(b.broker) as c:
            await admin.create_topic(c, "landing", 4)
        async with httpx.AsyncClient(base_url=b.info.http[0], follow_redirects=True) as http:
            answer = await http.post(
                "/topics/landing/produce",
                data={"partition": "", "key": "alice", "value": '{"n":1}', "headers": "h=1"},
            )
    # Keyed without a partition: Kafka's default partitioner's choice, murmur2("alice") % 4.
    expected = partition_for_key(b"alice", 4)
    assert f"partition {expected} at offset 0" in answer.text
    assert re.search(r'<tr data-offset="0">', answer.text)
    # An offset past the end shows the end: no records, no error.
    async with in_process_broker(tmp_path / "again", HTTP_ON) as b:
        async with Client.local(b.broker) as c:
            await admin.create_topic(c, "short", 1)
        async with httpx.AsyncClient(base_url=b.info.http[0]) as http:
            past = await http.get("/topics/short/messages?seek=offset&offset=99")
    assert past.status_code == 200 and "No records here" in past.text
    assert "&#34;n&#34;: 1" in answer.text  # pretty-printed JSON, escaped


async def test_a_reset_to_a_time_commits_the_first_offset_at_or_after_it(tmp_path):
    base = 1_700_000_000_000  # 2023-11-14T22:13:20 UTC
    async with in_process_broker(tmp_path, HTTP_ON) as b:
        async with Client.local(b.broker) as c:
            await admin.create_topic(c, "timed", 1)
            records = [ProducerRecord(b"v", timestamp_ms=base + 1000 * i) for i in range(5)]
            await produce(c, "timed", records, partition=0)
            await groups.commit_offsets(c, "timed-group", {("timed", 0): 5})
        async with httpx.AsyncClient(base_url=b.info.http[0]) as http:
            answer = await http.post(
                "/groups/timed-group/reset",
                data={"topic": "", "to": "timestamp", "time": "2023-11-14T22:13:22"},
            )
            assert answer.status_code == 303
            page = await http.get(answer.headers["location"])
        async with Client.local(b.broker) as c:
            committed = await groups.committed_offsets(c, "timed-group")
    assert committed == {("timed", 0): 2}
    assert "Committed new offsets for 1 partition." in page.text


async def test_groups_whose_ids_hold_url_characters_are_listed_shown_and_reset(tmp_path):
    # A group id is any string; one with "/" once made the whole groups page fail (500).
    odd = sorted(["a/b", "x/reset", "q?x#y", "sp ace", "pct%2F"])
    async with in_process_broker(tmp_path, HTTP_ON) as b:
        async with Client.local(b.broker) as c:
            await admin.create_topic(c, "odd", 1)
            await produce(c, "odd", [ProducerRecord(b"v")] * 3, partition=0)
            for group_id in odd:
                await groups.commit_offsets(c, group_id, {("odd", 0): 0})
        async with httpx.AsyncClient(base_url=b.info.http[0]) as http:
            listing = await http.get("/groups")
            assert listing.status_code == 200
            links = re.findall(r'<a href="([^"]*/groups/[^"]+)">', listing.text)
            pages = [await http.get(url) for url in links]
            # "x/reset": its page, and its reset form, are its own (not a reset of "x").
            form = re.search(r'<form[^>]*action="([^"]*)"', pages[odd.index("x/reset")].text)
            assert form is not None
            reset = await http.post(form.group(1), data={"topic": "", "to": "latest"})
        async with Client.local(b.broker) as c:
            committed = {g: await groups.committed_offsets(c, g) for g in odd}
    assert [p.status_code for p in pages] == [200] * len(odd)
    assert [re.findall(r"<h1>(.*?)</h1>", p.text) for p in pages] == [[g] for g in odd]
    assert reset.status_code == 303
    assert committed == {g: {("odd", 0): 3 if g == "x/reset" else 0} for g in odd}


async def test_the_consoles_own_requests_count_in_the_metrics(tmp_path):
    # As the README says: client id kpy-console, counted like any client's requests.
    async with (
        in_process_broker(tmp_path, HTTP_ON) as b,
        httpx.AsyncClient(base_url=b.info.http[0]) as http,
    ):
        before = dict(b.broker.metrics.requests)
        assert (await http.get("/topics")).status_code == 200
        after = dict(b.broker.metrics.requests)
    metadata = sum(n for (key, _), n in after.items() if key == 3)
    assert metadata > sum(n for (key, _), n in before.items() if key == 3)
