"""Mutations of the connection, Metadata, Produce and Fetch paths."""

from __future__ import annotations

from conformance.mutation_catalog.base import BAD_INPUT, M, refuse_codec

CONNECTION = [
    M(
        "api-versions-omits-itself",
        "    return ApiVersionsResponse(api_keys=api_versions_entries(ApiVersionsResponse))\n",
        "    return ApiVersionsResponse(\n"
        "        api_keys=[e for e in api_versions_entries(ApiVersionsResponse) if e.api_key != 18]\n"
        "    )\n",
        "test_api_versions_every_version",
        "ApiVersions lists every API the broker supports, ApiVersions (key 18) included",
    ),
    M(
        "api-versions-no-v0-fallback",
        "            return framing.encode_response(corr, key, 0, response)\n",
        '            raise CloseConnection(f"ApiVersions v{version} is not supported")\n',
        "test_api_versions_unknown_version_answers_v0",
        "KIP-511: a too new ApiVersions gets a v0 answer with UNSUPPORTED_VERSION and the ranges",
    ),
    M(
        "api-versions-software-name-unchecked",
        "    if ctx.api_version >= 3 and not (\n",
        "    if ctx.api_version >= 99 and not (\n",
        "test_api_versions_invalid_software_name",
        "KIP-511: v3+ client software names must match Kafka's pattern, else INVALID_REQUEST",
    ),
    M(
        "fetch-advertised-up-to-v11",
        '    1: ("api_01_fetch", 4, 17),\n',
        '    1: ("api_01_fetch", 4, 11),\n',
        "test_core_api_ranges or test_fetch_every_version",
        "KIP-896: ApiVersions advertises the Fetch versions Kafka 4 clients use (up to v17)",
    ),
    M(
        "pipelined-frames-dropped",
        "        self._start = start + size\n"
        "        if self._start == self._end:\n"
        "            self._start = self._end = 0\n",
        "        self._start = self._end = 0  # mutation: bytes after this frame are lost\n",
        "test_pipelined_requests_answer_in_order",
        "requests pipelined on one connection are all answered, in order",
        anchor="frame-consumed",
    ),
    M(
        "max-connections-32",
        '        limit = self.config.get("max.connections")\n',
        "        limit = 32  # mutation: a fixed limit instead of max.connections (unbounded)\n",
        "test_many_connections",
        "max.connections is unbounded by default: fifty connections at once are served",
    ),
    M(
        "unreadable-header-ignored",
        '        raise CloseConnection(f"unreadable request header: {exc}") from exc\n',
        "        return None  # mutation: the frame is dropped, the connection stays open\n",
        BAD_INPUT,
        "a request whose header cannot be read closes that connection",
    ),
    M(
        "unknown-api-key-ignored",
        '        raise CloseConnection(f"API key {key} ({name}) version {version} is not supported")\n',
        "        return None  # mutation: the frame is dropped, the connection stays open\n",
        BAD_INPUT,
        "a request for an unknown API key closes that connection",
    ),
    M(
        "malformed-body-ignored",
        '        raise CloseConnection(f"malformed {info.name} v{version} request: {exc}") from exc\n',
        "        return None  # mutation: the frame is dropped, the connection stays open\n",
        BAD_INPUT,
        "a request whose body does not decode closes that connection",
    ),
    M(
        "frame-size-unchecked",
        "        if size < 0 or size > max_request:\n",
        "        if size < 0 or size > max_request:\n"
        "            await trio.sleep_forever()  # mutation: waits for a body that never comes\n",
        BAD_INPUT,
        "a negative frame size or one above socket.request.max.bytes closes the connection",
        anchor="frame-size",
    ),
    M(
        "connection-error-stops-broker",
        "        except CloseConnection as exc:\n            self._log_refusal(exc)\n",
        "        except CloseConnection:\n"
        "            raise  # mutation: escapes the connection task and stops the broker\n",
        BAD_INPUT,
        "a misbehaving client loses only its own connection; the broker serves the others",
    ),
]

METADATA = [
    M(
        "advertised-port-zero",
        "                return advertised_host(adv.host), adv.port or bound_port\n",
        "                return advertised_host(adv.host), adv.port  # mutation: 0, not the bound port\n",
        "test_metadata_every_version or test_find_coordinator",
        "a broker listening on port 0 advertises the port it actually bound",
    ),
    M(
        "metadata-skips-partition-0",
        "            for p in range(topic.partitions)\n",
        "            for p in range(1, topic.partitions)\n",
        "test_metadata_every_version or test_leader_epoch_present",
        "Metadata lists every partition of a topic",
    ),
    M(
        "metadata-no-controller",
        "        cluster_id=broker.metadata.cluster_id,\n        controller_id=broker.node_id,\n    )\n",
        "        cluster_id=broker.metadata.cluster_id,\n        controller_id=-1,\n    )\n",
        "test_cluster_id_and_controller",
        "KIP-78: Metadata names the controller, one of the brokers",
    ),
    M(
        "auto-create-disabled",
        '    allow_create = broker.config.get("auto.create.topics.enable") and (\n',
        "    allow_create = False and (  # mutation: auto.create.topics.enable ignored\n",
        "test_auto_create",
        "auto.create.topics.enable: Metadata creates a missing topic when the request allows it",
    ),
    M(
        "auto-create-answers-at-once",
        "                response.topics.append(error_topic(name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION))\n"
        "                continue\n"
        "        response.topics.append(topic_entry(broker, name))\n",
        "                pass  # mutation: the creating request answered with the new topic\n"
        "        response.topics.append(topic_entry(broker, name))\n",
        "test_auto_create",
        "the Metadata request that auto-creates a topic answers UNKNOWN_TOPIC_OR_PARTITION",
    ),
    M(
        "auto-create-flag-ignored",
        "        version < 4 or req.allow_auto_topic_creation\n",
        "        version < 13 or req.allow_auto_topic_creation\n",
        "test_unknown_topic_without_auto_create or test_validate_only",
        "Metadata v4+ with allow_auto_topic_creation=false answers UNKNOWN_TOPIC_OR_PARTITION",
    ),
    M(
        "metadata-bad-name-unknown",
        "                response.topics.append(error_topic(name, ErrorCode.INVALID_TOPIC_EXCEPTION))\n",
        "                response.topics.append(error_topic(name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION))\n",
        "test_invalid_topic_name",
        "an illegal topic name in Metadata is INVALID_TOPIC_EXCEPTION",
    ),
    M(
        "metadata-unknown-topic-id-code",
        "                        error_code=ErrorCode.UNKNOWN_TOPIC_ID,\n",
        "                        error_code=ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,\n",
        "test_topic_ids",
        "KIP-516: Metadata for an unknown topic id is UNKNOWN_TOPIC_ID",
    ),
    M(
        "metadata-empty-isr",
        "                isr_nodes=[node],\n            )\n",
        "                isr_nodes=[],\n            )\n",
        "test_leader_epoch_present",
        "KIP-320: Metadata lists the leader among the in-sync replicas",
    ),
    M(
        "metadata-null-topics-as-empty",
        "        names = sorted(broker.metadata.topics)\n",
        "        names = []  # mutation: a null topic list read as an empty one\n",
        "test_all_topics_listing",
        "Metadata with a null topic list returns every topic",
    ),
    M(
        "metadata-no-topic-operations",
        "                topic.topic_authorized_operations = TOPIC_OPERATIONS\n",
        "                pass  # mutation: topic authorized operations never reported\n",
        "test_authorized_operations",
        "KIP-430: Metadata v8+ reports a topic's authorized operations when asked",
    ),
    M(
        "metadata-ids-before-v12",
        "    if version < 12:\n",
        "    if version < 10:  # mutation: topic ids accepted at v10-11\n",
        "test_topic_ids_before_v12_are_invalid",
        "Metadata v10-11 requests with a topic id or a null name are INVALID_REQUEST",
    ),
    M(
        "metadata-repeats-topics",
        "    for name in dict.fromkeys(t.name for t in req.topics):\n",
        "    for name in [t.name for t in req.topics]:  # mutation: duplicates answered twice\n",
        "test_repeated_topics_answered_once",
        "Metadata answers a topic asked twice once",
    ),
]

PRODUCE = [
    M(
        "produce-answers-log-end",
        "result.base_offset,",
        "result.last_offset + 1,  # mutation",
        "test_produce_every_version or test_acks",
        "Produce answers with the offset assigned to the batch's first record",
        anchor="produce-outcome",
    ),
    M(
        "acks-1-unanswered",
        "return acks != 0",
        "return acks == -1  # mutation",
        "test_acks",
        "acks=1 is answered once the batch is in the leader's log",
        anchor="produce-acks",
    ),
    M(
        "acks-0-answered",
        "return acks != 0",
        "return True  # mutation: acks=0 is answered like acks=1",
        "test_acks_zero_no_response",
        "acks=0 gets no response, and the records are written",
        anchor="produce-acks",
    ),
    M(
        "invalid-acks-accepted",
        "    if req.acks not in (0, 1, -1):\n",
        "    if req.acks < -1:\n",
        "test_invalid_acks",
        "acks other than 0, 1 and -1 is INVALID_REQUIRED_ACKS",
    ),
    M(
        "crc-unchecked",
        "    if h.crc != compute_crc(buf, pos, size):\n",
        "    if False:  # mutation: the CRC is not verified\n",
        "test_corrupt_batch",
        "a batch whose CRC-32C does not match is CORRUPT_MESSAGE",
    ),
    M(
        "topic-max-message-bytes-ignored",
        '    max_bytes = config["max.message.bytes"]\n',
        "    max_bytes = 1048588  # mutation: the broker default, not the topic's setting\n",
        "test_message_too_large",
        "a batch above the topic's max.message.bytes is MESSAGE_TOO_LARGE",
    ),
    M(
        "future-timestamps-accepted",
        "        if ts < now_ms - before or ts > now_ms + after:\n",
        "        if ts < now_ms - before:\n",
        "test_timestamp_too_far_in_future",
        "KIP-251: a timestamp beyond message.timestamp.after.max.ms is INVALID_TIMESTAMP",
    ),
    M(
        "log-append-time-ignored",
        "    if log_append:\n        return ValidatedBatch(buffer, header, now_ms)\n",
        "    # mutation: LogAppendTime topics keep the producer's timestamps\n",
        "test_log_append_time",
        "KIP-32: a LogAppendTime topic stamps batches with the broker's clock",
    ),
    M(
        "create-time-overwritten",
        "    return ValidatedBatch(buffer, header, None)\n",
        "    return ValidatedBatch(buffer, header, now_ms)  # mutation: always LogAppendTime\n",
        "test_create_time_kept or test_max_timestamp or test_by_timestamp",
        "KIP-32: CreateTime timestamps are stored as the producer set them",
    ),
    M(
        "second-batch-accepted",
        "    if size != len(data):\n",
        "    if size > len(data):  # mutation: trailing batches are appended too\n",
        "test_two_batches_rejected",
        "Produce v3+ carries exactly one batch per partition, else INVALID_RECORD",
    ),
    M(
        "magic-1-let-through",
        "    if magic != 2:\n",
        "    if magic not in (1, 2):\n",
        "test_legacy_magic_rejected",
        "KIP-896: message sets of magic 0 and 1 are refused with INVALID_RECORD",
    ),
    M(
        "record-count-unchecked",
        "    if header.record_count != header.last_offset_delta + 1 or header.record_count == 0:\n",
        "    if header.record_count == 0:\n",
        "test_record_count_mismatch",
        "a record count that disagrees with lastOffsetDelta is INVALID_RECORD",
    ),
    M(
        "compacted-keyless-accepted",
        '        if "compact" in config["cleanup.policy"] and records.has_null_key(buffer):\n',
        '        if "compact" == config["cleanup.policy"] and records.has_null_key(buffer):\n',
        "test_keyless_on_compacted",
        "a record without key on a compacted topic is INVALID_RECORD",
    ),
    M(
        "keyless-refused-everywhere",
        '        if "compact" in config["cleanup.policy"] and records.has_null_key(buffer):\n',
        "        if records.has_null_key(buffer):  # mutation: on every topic\n",
        "test_headers_and_null_values",
        "topics that are not compacted store null keys, null values and headers as sent",
    ),
    M(
        "topic-compression-ignored",
        '        if target != "producer" and CODECS[target] != header.compression:\n',
        "        if False:  # mutation: the topic's compression.type is ignored\n",
        "test_topic_compression_recompresses",
        "compression.type on a topic recompresses batches to that codec",
    ),
    refuse_codec("none", 0),
    refuse_codec("gzip", 1),
    refuse_codec("snappy", 2),
    refuse_codec("lz4", 3),
    refuse_codec("zstd", 4),
    M(
        "missing-partition-not-leader",
        "                ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,\n"
        '                f"This server does not host this topic-partition: {topic}-{partition}",\n',
        "                ErrorCode.NOT_LEADER_OR_FOLLOWER,\n"
        '                f"This server does not host this topic-partition: {topic}-{partition}",\n',
        "test_unknown_partition",
        "a partition that does not exist is UNKNOWN_TOPIC_OR_PARTITION (not a leadership error)",
    ),
    M(
        "idempotent-duplicates-appended",
        "        for meta in entry.batches:\n"
        "            if meta.first_seq == h.base_sequence and meta.last_seq == h.last_sequence:\n"
        "                return meta\n",
        "",
        "test_idempotent_duplicate_and_gap",
        "KIP-98: a retried batch of an idempotent producer gets its original offset back",
    ),
    M(
        "sequence-gaps-accepted",
        "        if entry.batches and h.base_sequence != expected:\n",
        "        if entry.batches and h.base_sequence < expected:\n",
        "test_idempotent_duplicate_and_gap",
        "KIP-98: a gap in an idempotent producer's sequence is OUT_OF_ORDER_SEQUENCE_NUMBER",
    ),
    M(
        "producer-id-reused",
        "        self._next += 1\n",
        "        self._next += 0  # mutation\n",
        "test_producer_ids_unique",
        "KIP-98: every InitProducerId without transactional id gets a new producer id",
    ),
]

FETCH = [
    M(
        "fetch-high-watermark-off-by-one",
        "        high_watermark=hw,\n",
        "        high_watermark=hw - 1,\n",
        "test_fetch_every_version or test_incremental_fetch_lists_only_changes",
        "Fetch reports each partition's high watermark",
    ),
    M(
        "append-wakes-no-fetch",
        "        waiters = self._waiters.pop(tp, None)\n",
        "        waiters = None  # mutation: appends do not wake waiting fetches\n",
        "test_long_poll_wakes_on_produce",
        "a fetch waiting for data returns as soon as a produce brings it (long poll)",
    ),
    M(
        "max-wait-ignored",
        "    max_wait = max(req.max_wait_ms, 0) / 1000\n",
        "    max_wait = 0  # mutation: max_wait_ms ignored\n",
        "test_max_wait_returns_empty or test_min_bytes_waits_for_enough or test_long_poll",
        "a fetch with less than min_bytes available waits up to max_wait_ms",
    ),
    M(
        "min-bytes-ignored",
        "        if total >= req.min_bytes or failed or remaining <= 0 or not tps:\n",
        "        if total >= 1 or failed or remaining <= 0 or not tps:\n",
        "test_min_bytes_waits_for_enough",
        "a fetch waits until min_bytes are available (or max_wait_ms passes)",
    ),
    M(
        "first-batch-not-forced",
        "            data = _read_partition(broker, w, max(max_bytes - total, 0), total == 0, read_committed)\n",
        "            data = _read_partition(broker, w, max(max_bytes - total, 0), False, read_committed)\n",
        "test_first_batch_even_if_too_large",
        "KIP-74: the first batch is returned whole even when larger than the byte limits",
    ),
    M(
        "partition-max-bytes-ignored",
        "    limit = min(w.cached.max_bytes, budget)\n",
        "    limit = budget\n",
        "test_partition_max_bytes_limits",
        "KIP-74: partition_max_bytes limits one partition's data",
    ),
    M(
        "max-bytes-ignored",
        "        parts, total, failed = _read(broker, wanted, req.max_bytes, read_committed)\n",
        "        parts, total, failed = _read(broker, wanted, 1 << 30, read_committed)\n",
        "test_max_bytes_limits_response",
        "KIP-74: max_bytes limits the whole fetch response",
    ),
    M(
        "fetch-past-log-end-allowed",
        "        if offset < self.log_start_offset or offset > self.log_end_offset:\n",
        "        if offset < self.log_start_offset:\n",
        "test_offset_out_of_range",
        "a fetch beyond the log end offset is OFFSET_OUT_OF_RANGE",
    ),
    M(
        "fetch-at-log-end-out-of-range",
        "    if w.cached.fetch_offset >= upper and w.cached.fetch_offset <= log.log_end_offset:\n"
        '        records: Any = b""\n',
        "    if w.cached.fetch_offset >= upper and w.cached.fetch_offset <= log.log_end_offset:\n"
        '        raise KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, "mutation: off by one")\n',
        "test_fetch_at_log_end_is_empty",
        "a fetch exactly at the log end offset is no error: it returns no records",
    ),
    M(
        "mid-batch-fetch-skips-batch",
        "            if h.last_offset >= offset:\n",
        "            if h.base_offset >= offset:\n",
        "test_fetch_from_middle_of_batch",
        "a fetch from an offset inside a batch returns that whole batch",
    ),
    M(
        "fetch-session-epoch-unchecked",
        "        if epoch != session.epoch:\n",
        "        if epoch < session.epoch:\n",
        "test_fetch_session_lifecycle",
        "KIP-227: an incremental fetch with the wrong epoch is INVALID_FETCH_SESSION_EPOCH",
    ),
    M(
        "fetch-session-forgets-high-watermark",
        "            w.cached.high_watermark = data.high_watermark\n",
        "",
        "test_incremental_fetch_lists_only_changes",
        "KIP-227: an incremental fetch lists only partitions with new data or offsets",
    ),
    M(
        "fetch-unknown-topic-id-code",
        "            missing = ErrorCode.UNKNOWN_TOPIC_ID if topic is None else 0\n",
        "            missing = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION if topic is None else 0\n",
        "test_unknown_topic_id",
        "KIP-516: Fetch v13+ by an unknown topic id is UNKNOWN_TOPIC_ID",
    ),
]
