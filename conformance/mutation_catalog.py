"""The mutations of kpy that ``python -m conformance.mutations`` runs the suite against.

Each one breaks one Kafka behaviour with an exact text replacement in one file under kpy/.
``old`` must occur exactly once in that file (tests/test_mutations.py checks it against the
current source); ``checks`` is the pytest -k expression selecting the conformance checks the
mutation should make fail (None runs the whole suite). Where ``new`` needs a remark, it
carries a ``# mutation:`` comment, so a copy that ran can be read on its own.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutation:
    name: str
    path: str  # relative to kpy/
    old: str
    new: str
    checks: str | None  # pytest -k expression; None: every check
    breaks: str  # the Kafka behaviour that no longer holds


M = Mutation

BAD_INPUT = (
    "test_bad_frame_closes_only_that_connection or test_connection_closed_mid_frame_is_harmless"
    " or test_valid_then_garbage"
)
CONTROL_BATCH_CHECK = (
    "    if header.is_control:\n"
    '        raise KafkaError(ErrorCode.INVALID_RECORD, "Clients cannot write control batches")\n'
)


def refuse_codec(codec: str, attribute: int) -> Mutation:
    """Batches of one codec are refused, as by a broker built without that codec."""
    if codec == "none":
        # Every client row: a client may send a batch uncompressed whatever its codec setting
        # (kafka-python when compression does not shrink it, librdkafka 2.0 when the broker
        # does not advertise Produce v2), and this shows which rows do.
        checks, breaks = "test_client_round_trip", "uncompressed batches are accepted"
    else:
        checks = f"test_client_round_trip and {codec}"
        breaks = f"{codec} batches are accepted from every client and come back intact"
    return M(
        f"refuse-{codec}-batches",
        "storage/validator.py",
        CONTROL_BATCH_CHECK,
        f"    if header.compression == {attribute}:  # mutation: {codec} refused\n"
        f'        raise KafkaError(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, "no {codec}")\n'
        + CONTROL_BATCH_CHECK,
        checks,
        breaks,
    )


CONNECTION = [
    M(
        "api-versions-omits-itself",
        "handlers/api_18_api_versions.py",
        "    return ApiVersionsResponse(api_keys=api_versions_entries(ApiVersionsResponse))\n",
        "    return ApiVersionsResponse(\n"
        "        api_keys=[e for e in api_versions_entries(ApiVersionsResponse) if e.api_key != 18]\n"
        "    )\n",
        "test_api_versions_every_version",
        "ApiVersions lists every API the broker supports, ApiVersions (key 18) included",
    ),
    M(
        "api-versions-no-v0-fallback",
        "dispatch.py",
        "            return framing.encode_response(corr, key, 0, _unsupported_api_versions())\n",
        '            raise CloseConnection(f"ApiVersions v{version} is not supported")\n',
        "test_api_versions_unknown_version_answers_v0",
        "KIP-511: a too new ApiVersions gets a v0 answer with UNSUPPORTED_VERSION and the ranges",
    ),
    M(
        "api-versions-software-name-unchecked",
        "handlers/api_18_api_versions.py",
        "    if ctx.api_version >= 3 and not (\n",
        "    if ctx.api_version >= 99 and not (\n",
        "test_api_versions_invalid_software_name",
        "KIP-511: v3+ client software names must match Kafka's pattern, else INVALID_REQUEST",
    ),
    M(
        "fetch-advertised-up-to-v11",
        "handlers/api_01_fetch.py",
        "@handles(1, 4, 17, error_response=fetch_error_response)\n",
        "@handles(1, 4, 11, error_response=fetch_error_response)\n",
        "test_core_api_ranges or test_fetch_every_version",
        "KIP-896: ApiVersions advertises the Fetch versions Kafka 4 clients use (up to v17)",
    ),
    M(
        "pipelined-frames-dropped",
        "connection.py",
        "        self._start = start + size\n"
        "        if self._start == self._end:\n"
        "            self._start = self._end = 0\n",
        "        self._start = self._end = 0  # mutation: bytes after this frame are lost\n",
        "test_pipelined_requests_answer_in_order",
        "requests pipelined on one connection are all answered, in order",
    ),
    M(
        "max-connections-32",
        "broker.py",
        '        limit = self.config.get("max.connections")\n',
        "        limit = 32  # mutation: a fixed limit instead of max.connections (unbounded)\n",
        "test_many_connections",
        "max.connections is unbounded by default: fifty connections at once are served",
    ),
    M(
        "unreadable-header-ignored",
        "dispatch.py",
        '        raise CloseConnection(f"unreadable request header: {exc}") from exc\n',
        "        return None  # mutation: the frame is dropped, the connection stays open\n",
        BAD_INPUT,
        "a request whose header cannot be read closes that connection",
    ),
    M(
        "unknown-api-key-ignored",
        "dispatch.py",
        '        raise CloseConnection(f"API key {key} ({name}) version {version} is not supported")\n',
        "        return None  # mutation: the frame is dropped, the connection stays open\n",
        BAD_INPUT,
        "a request for an unknown API key closes that connection",
    ),
    M(
        "malformed-body-ignored",
        "dispatch.py",
        '        raise CloseConnection(f"malformed {info.name} v{version} request: {exc}") from exc\n',
        "        return None  # mutation: the frame is dropped, the connection stays open\n",
        BAD_INPUT,
        "a request whose body does not decode closes that connection",
    ),
    M(
        "frame-size-unchecked",
        "connection.py",
        "        if size < 0 or size > max_request:\n",
        "        if size < 0 or size > max_request:\n"
        "            await trio.sleep_forever()  # mutation: waits for a body that never comes\n",
        BAD_INPUT,
        "a negative frame size or one above socket.request.max.bytes closes the connection",
    ),
    M(
        "connection-error-stops-broker",
        "connection.py",
        "        except CloseConnection as exc:\n"
        '            log.warning("%s closing connection from %s: %s", self.id, self.peer, exc)\n',
        "        except CloseConnection:\n"
        "            raise  # mutation: escapes the connection task and stops the broker\n",
        BAD_INPUT,
        "a misbehaving client loses only its own connection; the broker serves the others",
    ),
]

METADATA = [
    M(
        "advertised-port-zero",
        "broker.py",
        "                port = adv.port or ports.get(listener, 0)\n",
        "                port = adv.port  # mutation: the configured port (0), not the bound one\n",
        "test_metadata_every_version or test_find_coordinator",
        "a broker listening on port 0 advertises the port it actually bound",
    ),
    M(
        "metadata-skips-partition-0",
        "handlers/api_03_metadata.py",
        "            for p in range(topic.partitions)\n",
        "            for p in range(1, topic.partitions)\n",
        "test_metadata_every_version or test_leader_epoch_present",
        "Metadata lists every partition of a topic",
    ),
    M(
        "metadata-no-controller",
        "handlers/api_03_metadata.py",
        "        controller_id=broker.node_id,\n",
        "        controller_id=-1,\n",
        "test_cluster_id_and_controller",
        "KIP-78: Metadata names the controller, one of the brokers",
    ),
    M(
        "auto-create-disabled",
        "handlers/api_03_metadata.py",
        '    allow_create = broker.config.get("auto.create.topics.enable") and (\n',
        "    allow_create = False and (  # mutation: auto.create.topics.enable ignored\n",
        "test_auto_create",
        "auto.create.topics.enable: Metadata creates a missing topic when the request allows it",
    ),
    M(
        "auto-create-flag-ignored",
        "handlers/api_03_metadata.py",
        "        version < 4 or req.allow_auto_topic_creation\n",
        "        version < 13 or req.allow_auto_topic_creation\n",
        "test_unknown_topic_without_auto_create or test_validate_only",
        "Metadata v4+ with allow_auto_topic_creation=false answers UNKNOWN_TOPIC_OR_PARTITION",
    ),
    M(
        "metadata-bad-name-unknown",
        "handlers/api_03_metadata.py",
        "                response.topics.append(error_topic(name, ErrorCode.INVALID_TOPIC_EXCEPTION))\n",
        "                response.topics.append(error_topic(name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION))\n",
        "test_invalid_topic_name",
        "an illegal topic name in Metadata is INVALID_TOPIC_EXCEPTION",
    ),
    M(
        "metadata-unknown-topic-id-code",
        "handlers/api_03_metadata.py",
        "                        error_code=ErrorCode.UNKNOWN_TOPIC_ID,\n",
        "                        error_code=ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,\n",
        "test_topic_ids",
        "KIP-516: Metadata for an unknown topic id is UNKNOWN_TOPIC_ID",
    ),
    M(
        "metadata-empty-isr",
        "handlers/api_03_metadata.py",
        "                isr_nodes=[node],\n",
        "                isr_nodes=[],\n",
        "test_leader_epoch_present",
        "KIP-320: Metadata lists the leader among the in-sync replicas",
    ),
    M(
        "metadata-null-topics-as-empty",
        "handlers/api_03_metadata.py",
        "        names = sorted(broker.metadata.topics)\n",
        "        names = []  # mutation: a null topic list read as an empty one\n",
        "test_all_topics_listing",
        "Metadata with a null topic list returns every topic",
    ),
]

PRODUCE = [
    M(
        "produce-answers-log-end",
        "handlers/api_00_produce.py",
        "        result.base_offset,\n",
        "        result.last_offset + 1,  # mutation\n",
        "test_produce_every_version or test_acks",
        "Produce answers with the offset assigned to the batch's first record",
    ),
    M(
        "acks-1-unanswered",
        "handlers/api_00_produce.py",
        "    return acks != 0\n",
        "    return acks == -1  # mutation\n",
        "test_acks",
        "acks=1 is answered once the batch is in the leader's log",
    ),
    M(
        "acks-0-answered",
        "handlers/api_00_produce.py",
        "    return acks != 0\n",
        "    return True  # mutation: acks=0 is answered like acks=1\n",
        "test_acks_zero_no_response",
        "acks=0 gets no response, and the records are written",
    ),
    M(
        "invalid-acks-accepted",
        "handlers/api_00_produce.py",
        "    if req.acks not in (0, 1, -1):\n",
        "    if req.acks < -1:\n",
        "test_invalid_acks",
        "acks other than 0, 1 and -1 is INVALID_REQUIRED_ACKS",
    ),
    M(
        "crc-unchecked",
        "protocol/records.py",
        "    if h.crc != compute_crc(buf, pos, size):\n",
        "    if False:  # mutation: the CRC is not verified\n",
        "test_corrupt_batch",
        "a batch whose CRC-32C does not match is CORRUPT_MESSAGE",
    ),
    M(
        "topic-max-message-bytes-ignored",
        "storage/validator.py",
        '    max_bytes = config["max.message.bytes"]\n',
        "    max_bytes = 1048588  # mutation: the broker default, not the topic's setting\n",
        "test_message_too_large",
        "a batch above the topic's max.message.bytes is MESSAGE_TOO_LARGE",
    ),
    M(
        "future-timestamps-accepted",
        "storage/validator.py",
        "        if ts < now_ms - before or ts > now_ms + after:\n",
        "        if ts < now_ms - before:\n",
        "test_timestamp_too_far_in_future",
        "KIP-251: a timestamp beyond message.timestamp.after.max.ms is INVALID_TIMESTAMP",
    ),
    M(
        "log-append-time-ignored",
        "storage/validator.py",
        "    if log_append:\n        return ValidatedBatch(buffer, header, now_ms)\n",
        "    # mutation: LogAppendTime topics keep the producer's timestamps\n",
        "test_log_append_time",
        "KIP-32: a LogAppendTime topic stamps batches with the broker's clock",
    ),
    M(
        "create-time-overwritten",
        "storage/validator.py",
        "    return ValidatedBatch(buffer, header, None)\n",
        "    return ValidatedBatch(buffer, header, now_ms)  # mutation: always LogAppendTime\n",
        "test_create_time_kept or test_max_timestamp or test_by_timestamp",
        "KIP-32: CreateTime timestamps are stored as the producer set them",
    ),
    M(
        "second-batch-accepted",
        "storage/validator.py",
        "    if size != len(data):\n",
        "    if size > len(data):  # mutation: trailing batches are appended too\n",
        "test_two_batches_rejected",
        "Produce v3+ carries exactly one batch per partition, else INVALID_RECORD",
    ),
    M(
        "magic-1-let-through",
        "storage/validator.py",
        "    if magic != 2:\n",
        "    if magic not in (1, 2):\n",
        "test_legacy_magic_rejected",
        "KIP-896: message sets of magic 0 and 1 are refused with INVALID_RECORD",
    ),
    M(
        "record-count-unchecked",
        "storage/validator.py",
        "    if header.record_count != header.last_offset_delta + 1 or header.record_count == 0:\n",
        "    if header.record_count == 0:\n",
        "test_record_count_mismatch",
        "a record count that disagrees with lastOffsetDelta is INVALID_RECORD",
    ),
    M(
        "compacted-keyless-accepted",
        "storage/validator.py",
        '        if "compact" in config["cleanup.policy"] and records.has_null_key(buffer):\n',
        '        if "compact" == config["cleanup.policy"] and records.has_null_key(buffer):\n',
        "test_keyless_on_compacted",
        "a record without key on a compacted topic is INVALID_RECORD",
    ),
    M(
        "keyless-refused-everywhere",
        "storage/validator.py",
        '        if "compact" in config["cleanup.policy"] and records.has_null_key(buffer):\n',
        "        if records.has_null_key(buffer):  # mutation: on every topic\n",
        "test_headers_and_null_values",
        "topics that are not compacted store null keys, null values and headers as sent",
    ),
    M(
        "topic-compression-ignored",
        "storage/validator.py",
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
        "broker.py",
        "                ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,\n"
        '                f"This server does not host this topic-partition: {topic}-{partition}",\n',
        "                ErrorCode.NOT_LEADER_OR_FOLLOWER,\n"
        '                f"This server does not host this topic-partition: {topic}-{partition}",\n',
        "test_unknown_partition",
        "a partition that does not exist is UNKNOWN_TOPIC_OR_PARTITION (not a leadership error)",
    ),
    M(
        "idempotent-duplicates-appended",
        "storage/producer_state.py",
        "        for meta in entry.batches:\n"
        "            if meta.first_seq == h.base_sequence and meta.last_seq == h.last_sequence:\n"
        "                return meta\n",
        "",
        "test_idempotent_duplicate_and_gap",
        "KIP-98: a retried batch of an idempotent producer gets its original offset back",
    ),
    M(
        "sequence-gaps-accepted",
        "storage/producer_state.py",
        "        if entry.batches and h.base_sequence != expected:\n",
        "        if entry.batches and h.base_sequence < expected:\n",
        "test_idempotent_duplicate_and_gap",
        "KIP-98: a gap in an idempotent producer's sequence is OUT_OF_ORDER_SEQUENCE_NUMBER",
    ),
    M(
        "producer-id-reused",
        "coordinator/producer_ids.py",
        "        self._next += 1\n",
        "        self._next += 0  # mutation\n",
        "test_producer_ids_unique",
        "KIP-98: every InitProducerId without transactional id gets a new producer id",
    ),
]

FETCH = [
    M(
        "fetch-high-watermark-off-by-one",
        "handlers/api_01_fetch.py",
        "        high_watermark=hw,\n",
        "        high_watermark=hw - 1,\n",
        "test_fetch_every_version or test_incremental_fetch_lists_only_changes",
        "Fetch reports each partition's high watermark",
    ),
    M(
        "append-wakes-no-fetch",
        "broker.py",
        "        waiters = self._waiters.pop(tp, None)\n",
        "        waiters = None  # mutation: appends do not wake waiting fetches\n",
        "test_long_poll_wakes_on_produce",
        "a fetch waiting for data returns as soon as a produce brings it (long poll)",
    ),
    M(
        "max-wait-ignored",
        "handlers/api_01_fetch.py",
        "    max_wait = max(req.max_wait_ms, 0) / 1000\n",
        "    max_wait = 0  # mutation: max_wait_ms ignored\n",
        "test_max_wait_returns_empty or test_min_bytes_waits_for_enough or test_long_poll",
        "a fetch with less than min_bytes available waits up to max_wait_ms",
    ),
    M(
        "min-bytes-ignored",
        "handlers/api_01_fetch.py",
        "        if total >= req.min_bytes or failed or remaining <= 0 or not tps:\n",
        "        if total >= 1 or failed or remaining <= 0 or not tps:\n",
        "test_min_bytes_waits_for_enough",
        "a fetch waits until min_bytes are available (or max_wait_ms passes)",
    ),
    M(
        "first-batch-not-forced",
        "handlers/api_01_fetch.py",
        "            data = _read_partition(broker, w, max(max_bytes - total, 0), total == 0, read_committed)\n",
        "            data = _read_partition(broker, w, max(max_bytes - total, 0), False, read_committed)\n",
        "test_first_batch_even_if_too_large",
        "KIP-74: the first batch is returned whole even when larger than the byte limits",
    ),
    M(
        "partition-max-bytes-ignored",
        "handlers/api_01_fetch.py",
        "    limit = min(w.cached.max_bytes, budget)\n",
        "    limit = budget\n",
        "test_partition_max_bytes_limits",
        "KIP-74: partition_max_bytes limits one partition's data",
    ),
    M(
        "max-bytes-ignored",
        "handlers/api_01_fetch.py",
        "        parts, total, failed = _read(broker, wanted, req.max_bytes, read_committed)\n",
        "        parts, total, failed = _read(broker, wanted, 1 << 30, read_committed)\n",
        "test_max_bytes_limits_response",
        "KIP-74: max_bytes limits the whole fetch response",
    ),
    M(
        "fetch-past-log-end-allowed",
        "storage/log.py",
        "        if offset < self.log_start_offset or offset > self.log_end_offset:\n",
        "        if offset < self.log_start_offset:\n",
        "test_offset_out_of_range",
        "a fetch beyond the log end offset is OFFSET_OUT_OF_RANGE",
    ),
    M(
        "fetch-at-log-end-out-of-range",
        "handlers/api_01_fetch.py",
        "    if w.cached.fetch_offset >= upper and w.cached.fetch_offset <= log.log_end_offset:\n"
        '        records: Any = b""\n',
        "    if w.cached.fetch_offset >= upper and w.cached.fetch_offset <= log.log_end_offset:\n"
        '        raise KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, "mutation: off by one")\n',
        "test_fetch_at_log_end_is_empty",
        "a fetch exactly at the log end offset is no error: it returns no records",
    ),
    M(
        "mid-batch-fetch-skips-batch",
        "storage/segment.py",
        "            if h.last_offset >= offset:\n",
        "            if h.base_offset >= offset:\n",
        "test_fetch_from_middle_of_batch",
        "a fetch from an offset inside a batch returns that whole batch",
    ),
    M(
        "fetch-session-epoch-unchecked",
        "fetch_session.py",
        "        if epoch != session.epoch:\n",
        "        if epoch < session.epoch:\n",
        "test_fetch_session_lifecycle",
        "KIP-227: an incremental fetch with the wrong epoch is INVALID_FETCH_SESSION_EPOCH",
    ),
    M(
        "fetch-session-forgets-high-watermark",
        "handlers/api_01_fetch.py",
        "            w.cached.high_watermark = data.high_watermark\n",
        "",
        "test_incremental_fetch_lists_only_changes",
        "KIP-227: an incremental fetch lists only partitions with new data or offsets",
    ),
    M(
        "fetch-unknown-topic-id-code",
        "handlers/api_01_fetch.py",
        "            missing = ErrorCode.UNKNOWN_TOPIC_ID if topic is None else 0\n",
        "            missing = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION if topic is None else 0\n",
        "test_unknown_topic_id",
        "KIP-516: Fetch v13+ by an unknown topic id is UNKNOWN_TOPIC_ID",
    ),
]

OFFSETS = [
    M(
        "list-offsets-earliest-unknown",
        "handlers/api_02_list_offsets.py",
        "    elif ts in (EARLIEST, EARLIEST_LOCAL):\n",
        "    elif ts == EARLIEST_LOCAL:\n",
        "test_earliest",
        "ListOffsets -2 (earliest) answers the log start offset",
    ),
    M(
        "list-offsets-latest-off-by-one",
        "handlers/api_02_list_offsets.py",
        "        offset = log.last_stable_offset if isolation_level == 1 else log.high_watermark\n",
        "        offset = log.last_stable_offset if isolation_level == 1 else log.high_watermark - 1\n",
        "test_latest or test_every_version",
        "ListOffsets -1 (latest) answers the high watermark, at every version",
    ),
    M(
        "list-offsets-max-timestamp-last-offset",
        "handlers/api_02_list_offsets.py",
        "        found = log.max_timestamp_entry()\n",
        "        found = (log.high_watermark - 1, -1)  # mutation: the last offset, no timestamp\n",
        "test_max_timestamp",
        "KIP-734: -3 answers the offset and timestamp of the newest timestamp",
    ),
    M(
        "list-offsets-echoes-timestamp",
        "storage/log.py",
        "                if ts >= timestamp and off >= self.log_start_offset:\n"
        "                    return off, ts\n",
        "                if ts >= timestamp and off >= self.log_start_offset:\n"
        "                    return off, timestamp  # mutation: the asked, not the found time\n",
        "test_by_timestamp",
        "KIP-79: a timestamp finds the first record at or after it, with that record's time",
    ),
    M(
        "list-offsets-after-all-is-log-end",
        "handlers/api_02_list_offsets.py",
        "        return PartitionResponse(partition_index=p.partition_index, offset=-1, timestamp=-1)\n",
        "        return PartitionResponse(\n"
        "            partition_index=p.partition_index, offset=log.high_watermark, timestamp=-1\n"
        "        )\n",
        "test_by_timestamp_after_all",
        "KIP-79: a timestamp after every record answers offset -1",
    ),
    M(
        "list-offsets-epoch-errors-swapped",
        "handlers/api_02_list_offsets.py",
        "            ErrorCode.FENCED_LEADER_EPOCH\n"
        "            if p.current_leader_epoch < epoch\n"
        "            else ErrorCode.UNKNOWN_LEADER_EPOCH\n",
        "            ErrorCode.UNKNOWN_LEADER_EPOCH\n"
        "            if p.current_leader_epoch < epoch\n"
        "            else ErrorCode.FENCED_LEADER_EPOCH\n",
        "test_fenced_leader_epoch",
        "KIP-320: a current_leader_epoch newer than the leader's is UNKNOWN_LEADER_EPOCH",
    ),
    M(
        "latest-epoch-end-unknown",
        "storage/leader_epoch.py",
        "        if epoch == self.latest_epoch:\n            return epoch, log_end_offset\n",
        "",
        "test_offset_for_leader_epoch",
        "KIP-320: the current leader epoch ends at the log end offset (OffsetForLeaderEpoch)",
    ),
]

ADMIN = [
    M(
        "create-topics-sees-duplicates",
        "handlers/api_19_create_topics.py",
        "            if counts[t.name] > 1:\n",
        "            if counts[t.name] >= 1:\n",
        "test_create_topics_every_version",
        "CreateTopics creates each topic named once in the request, at every version",
    ),
    M(
        "topic-exists-wrong-code",
        "metadata.py",
        "            raise KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, f\"Topic '{name}' already exists.\")\n",
        "            raise KafkaError(ErrorCode.INVALID_REQUEST, f\"Topic '{name}' already exists.\")\n",
        "test_topic_already_exists",
        "creating a topic that exists is TOPIC_ALREADY_EXISTS",
    ),
    M(
        "replication-factor-unchecked",
        "broker.py",
        "        if replication > 1:\n",
        "        if replication > 100:\n",
        "test_replication_factor_above_brokers",
        "a replication factor above the broker count is INVALID_REPLICATION_FACTOR",
    ),
    M(
        "zero-partitions-accepted",
        "broker.py",
        "        if partitions <= 0:\n",
        "        if partitions < 0:\n",
        "test_zero_partitions",
        "a topic with zero partitions is INVALID_PARTITIONS",
    ),
    M(
        "default-partitions-not-applied",
        "broker.py",
        "        if partitions == -1:\n",
        "        if partitions == -2:  # mutation: -1 is not read as the broker default\n",
        "test_default_partitions_and_rf",
        "KIP-464: -1 partitions and replication factor take the broker defaults",
    ),
    M(
        "cleanup-policy-unvalidated",
        "config_keys.py",
        'list_of("delete", "compact"), "log.cleanup.policy")',
        'None, "log.cleanup.policy")',
        "test_invalid_config",
        "cleanup.policy takes only delete and compact, else INVALID_CONFIG",
    ),
    M(
        "unknown-topic-config-accepted",
        "config.py",
        "        if key is None:\n"
        '            raise KafkaError(ErrorCode.INVALID_CONFIG, f"Unknown topic config name: {name}")\n',
        "        if key is None:\n            continue  # mutation: unknown names pass\n",
        "test_invalid_config",
        "an unknown topic config name is INVALID_CONFIG",
    ),
    M(
        "bad-config-value-wrong-code",
        "config.py",
        "            parsed[name] = parse_value(key, raw)\n"
        "        except ConfigError as exc:\n"
        "            raise KafkaError(ErrorCode.INVALID_CONFIG, str(exc)) from None\n",
        "            parsed[name] = parse_value(key, raw)\n"
        "        except ConfigError as exc:\n"
        "            raise KafkaError(ErrorCode.INVALID_REQUEST, str(exc)) from None\n",
        "test_invalid_config or test_incremental_alter_configs",
        "a topic config value of the wrong type or range is INVALID_CONFIG",
    ),
    M(
        "topic-name-dot-dot-allowed",
        "metadata.py",
        '    if name in (".", ".."):\n',
        '    if name == ".":\n',
        "test_invalid_topic_names",
        'the topic names "." and ".." are INVALID_TOPIC_EXCEPTION',
    ),
    M(
        "topic-name-length-unchecked",
        "metadata.py",
        "MAX_TOPIC_NAME = 249\n",
        "MAX_TOPIC_NAME = 255\n",
        "test_invalid_topic_names",
        "topic names longer than 249 characters are INVALID_TOPIC_EXCEPTION",
    ),
    M(
        "topic-name-any-character",
        "metadata.py",
        '_LEGAL = re.compile(r"[a-zA-Z0-9._-]+")\n',
        '_LEGAL = re.compile(r".+")  # mutation: any character\n',
        "test_invalid_topic_name",
        "topic names use only ASCII letters, digits, '.', '_' and '-'",
    ),
    M(
        "validate-only-creates",
        "handlers/api_19_create_topics.py",
        "            if req.validate_only:\n",
        "            if False:  # mutation: validate_only ignored\n",
        "test_validate_only",
        "CreateTopics with validate_only checks the request without creating the topic",
    ),
    M(
        "only-first-partition-created",
        "broker.py",
        "            for p in range(partitions):\n"
        "                self.logs.create_log(name, p, topic.topic_id, config)\n",
        "            for p in range(min(partitions, 1)):  # mutation\n"
        "                self.logs.create_log(name, p, topic.topic_id, config)\n",
        "test_created_topic_usable_at_once",
        "every partition of a topic is writable as soon as CreateTopics answers",
    ),
    M(
        "delete-unknown-topic-id-code",
        "handlers/api_20_delete_topics.py",
        '                        ErrorCode.UNKNOWN_TOPIC_ID, f"Topic id {topic_id} does not exist"\n',
        '                        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"Topic id {topic_id} does not exist"\n',
        "test_delete_topics_by_name_and_id",
        "DeleteTopics v6 by an unknown topic id is UNKNOWN_TOPIC_ID",
    ),
    M(
        "create-partitions-shrinks",
        "handlers/api_37_create_partitions.py",
        "            if t.count < topic.partitions:\n",
        "            if t.count < 1:\n",
        "test_create_partitions",
        "CreatePartitions only adds partitions; fewer than now is INVALID_PARTITIONS",
    ),
    M(
        "describe-configs-override-source-lost",
        "config.py",
        "                synonyms.insert(0, (name, shown, SOURCE_DYNAMIC_TOPIC))\n",
        "                pass  # mutation: the topic override is not named as the source\n",
        "test_describe_configs_sources",
        "DescribeConfigs shows a topic override with source DYNAMIC_TOPIC_CONFIG",
    ),
    M(
        "broker-resource-by-id-refused",
        "handlers/configs.py",
        '    if name not in ("", str(broker.node_id)):\n',
        '    if name != "":\n',
        "test_describe_broker_configs",
        "DescribeConfigs of the broker resource named by its node id lists broker configs",
    ),
    M(
        "describe-configs-unknown-topic-defaults",
        "handlers/api_32_describe_configs.py",
        "                entries = broker.config.describe_topic_config(\n"
        "                    topic_of(broker, res.resource_name).configs\n"
        "                )\n",
        "                known = broker.metadata.get(res.resource_name)  # mutation\n"
        "                entries = broker.config.describe_topic_config(known.configs if known else {})\n",
        "test_describe_configs_unknown_topic",
        "DescribeConfigs of an unknown topic is UNKNOWN_TOPIC_OR_PARTITION",
    ),
    M(
        "alter-configs-merges",
        "handlers/api_33_alter_configs.py",
        "                        res.resource_name, {k: str(v) for k, v in values.items()}\n",
        "                        res.resource_name,  # mutation: merged, not replaced\n"
        "                        {\n"
        "                            **topic_of(broker, res.resource_name).configs,\n"
        "                            **{k: str(v) for k, v in values.items()},\n"
        "                        },\n",
        "test_alter_configs",
        "AlterConfigs replaces every override of the resource (keys not sent go back to defaults)",
    ),
    M(
        "incremental-append-replaces",
        "handlers/api_44_incremental_alter_configs.py",
        "                items += [v for v in values if v not in items]\n",
        "                items = values  # mutation: APPEND replaces the list\n",
        "test_incremental_alter_configs",
        "KIP-339: APPEND adds to a list config, keeping its current values",
    ),
    M(
        "delete-records-keeps-start",
        "storage/log.py",
        "            self.log_start_offset = offset\n",
        "            pass  # mutation: the log start offset stays\n",
        "test_delete_records",
        "KIP-107: DeleteRecords moves the log start offset (the low watermark)",
    ),
    M(
        "describe-cluster-no-cluster-id",
        "handlers/api_60_describe_cluster.py",
        "        cluster_id=broker.metadata.cluster_id,\n        controller_id=broker.node_id,\n",
        '        cluster_id="",\n        controller_id=broker.node_id,\n',
        "test_describe_cluster",
        "KIP-700: DescribeCluster reports the brokers and the cluster id Metadata reports",
    ),
    M(
        "log-dir-sizes-zero",
        "handlers/api_35_describe_log_dirs.py",
        "partition_index=log.partition, partition_size=log.size_in_bytes(), offset_lag=0",
        "partition_index=log.partition, partition_size=0, offset_lag=0",
        "test_describe_log_dirs",
        "KIP-113: DescribeLogDirs reports each partition's size on disk",
    ),
    M(
        "describe-topic-partitions-no-paging",
        "handlers/api_75_describe_topic_partitions.py",
        "            if budget == 0:\n",
        "            if budget < 0:  # mutation: response_partition_limit ignored\n",
        "test_describe_topic_partitions_paging",
        "KIP-966: DescribeTopicPartitions pages with response_partition_limit and a cursor",
    ),
    M(
        "describe-producers-no-sequence",
        "handlers/api_61_describe_producers.py",
        "                        last_sequence=s.last_sequence,\n",
        "                        last_sequence=-1,\n",
        "test_describe_producers",
        "KIP-664: DescribeProducers lists each producer with its last sequence",
    ),
    M(
        "elect-leaders-claims-election",
        "handlers/api_43_elect_leaders.py",
        "                        error_code=ErrorCode.ELECTION_NOT_NEEDED,\n",
        "                        error_code=ErrorCode.NONE,\n",
        "test_elect_leaders_not_needed",
        "KIP-460: electing the leader that already leads answers ELECTION_NOT_NEEDED",
    ),
]

GROUPS = [
    M(
        "find-coordinator-v0-3-no-port",
        "handlers/api_10_find_coordinator.py",
        "            node_id=node,\n"
        '            host=host if not error else "",\n'
        "            port=port if not error else -1,\n",
        "            node_id=node,\n"
        '            host=host if not error else "",\n'
        "            port=-1,\n",
        "test_find_coordinator",
        "FindCoordinator v0-3 names the coordinator's host and port",
    ),
    M(
        "find-coordinator-batch-first-key-only",
        "handlers/api_10_find_coordinator.py",
        "            for key in req.coordinator_keys\n",
        "            for key in req.coordinator_keys[:1]\n",
        "test_find_coordinator",
        "KIP-699: FindCoordinator v4+ answers every key of the batch",
    ),
    M(
        "member-id-not-required",
        "coordinator/groups.py",
        "            if instance_id is None and version >= 4:\n",
        "            if instance_id is None and version >= 10:\n",
        "test_member_id_required",
        "KIP-394: JoinGroup v4+ without member id answers MEMBER_ID_REQUIRED with an id",
    ),
    M(
        "generation-not-bumped",
        "coordinator/groups.py",
        "        group.generation_id += 1\n",
        "        group.generation_id += 0\n",
        "test_single_member_generation",
        "every completed rebalance starts a new generation (the first is 1)",
    ),
    M(
        "min-session-timeout-unchecked",
        "coordinator/groups.py",
        "        if not self.min_session <= timeout_ms <= self.max_session:\n",
        "        if not 0 <= timeout_ms <= self.max_session:\n",
        "test_invalid_session_timeout",
        "a session timeout below group.min.session.timeout.ms is INVALID_SESSION_TIMEOUT",
    ),
    M(
        "heartbeat-newer-generation-accepted",
        "coordinator/groups.py",
        "        if req.generation_id != group.generation_id:\n"
        "            raise KafkaError(\n"
        "                ErrorCode.ILLEGAL_GENERATION,\n"
        '                f"generation {req.generation_id} is not {group.generation_id}",\n'
        "            )\n"
        "        member.last_heartbeat = trio.current_time()\n",
        "        if req.generation_id < group.generation_id:\n"
        "            raise KafkaError(\n"
        "                ErrorCode.ILLEGAL_GENERATION,\n"
        '                f"generation {req.generation_id} is not {group.generation_id}",\n'
        "            )\n"
        "        member.last_heartbeat = trio.current_time()\n",
        "test_heartbeat_errors",
        "a heartbeat with another generation than the group's is ILLEGAL_GENERATION",
    ),
    M(
        "leave-keeps-member",
        "coordinator/groups.py",
        '        log.info("group %s: member %s left", group_id, member_id)\n'
        "        self._remove_member(group, member_id)\n",
        '        log.info("group %s: member %s left", group_id, member_id)\n',
        "test_leave_group",
        "KIP-345: LeaveGroup removes the member; the group without members is Empty",
    ),
    M(
        "list-groups-state-filter-inverted",
        "handlers/api_16_list_groups.py",
        "        if states and group.state.lower() not in states:\n",
        "        if states and group.state.lower() in states:\n",
        "test_describe_and_list",
        "KIP-518: ListGroups v4+ lists the groups in the states asked for",
    ),
    M(
        "describe-groups-no-assignment",
        "handlers/api_15_describe_groups.py",
        "                        member_assignment=m.assignment,\n",
        '                        member_assignment=b"",\n',
        "test_describe_and_list",
        "DescribeGroups shows each member's assignment",
    ),
    M(
        "delete-group-with-members",
        "coordinator/groups.py",
        "        if group.members:\n"
        '            raise KafkaError(ErrorCode.NON_EMPTY_GROUP, f"group {group_id} has members")\n',
        "",
        "test_delete_groups",
        "DeleteGroups refuses a group that has members (NON_EMPTY_GROUP)",
    ),
    M(
        "sync-drops-assignment",
        "coordinator/groups.py",
        '                m.assignment = by_member.get(m.member_id, b"")\n',
        '                m.assignment = b""  # mutation: the leader\'s assignment is dropped\n',
        "test_client_group_consumes_everything or test_single_member_generation",
        "SyncGroup hands each member the assignment the leader computed",
    ),
    M(
        "commit-metadata-dropped",
        "handlers/api_08_offset_commit.py",
        "                    p.committed_offset, p.committed_leader_epoch, p.committed_metadata, now_ms\n",
        "                    p.committed_offset, p.committed_leader_epoch, None, now_ms\n",
        "test_standalone_commit_and_fetch",
        "OffsetCommit stores the metadata string with the offset; OffsetFetch returns both",
    ),
    M(
        "committed-offsets-invisible",
        "coordinator/groups.py",
        "        self._group(group_id).offsets.update(offsets)\n",
        "        # mutation: written to __consumer_offsets but not applied to the group\n",
        "test_standalone_commit_and_fetch",
        "an OffsetCommit answered without error is what the next OffsetFetch returns",
    ),
    M(
        "uncommitted-offset-zero",
        "handlers/api_09_offset_fetch.py",
        "                    committed_offset=c.offset if c else -1,\n",
        "                    committed_offset=c.offset if c else 0,\n",
        "test_fetch_uncommitted_is_minus_one",
        "OffsetFetch of a partition without a committed offset answers -1",
    ),
    M(
        "commit-newer-generation-accepted",
        "coordinator/groups.py",
        "        self._known_member(group, member_id, instance_id)\n"
        "        if generation != group.generation_id:\n",
        "        self._known_member(group, member_id, instance_id)\n"
        "        if generation < group.generation_id:\n",
        "test_commit_with_wrong_generation",
        "OffsetCommit by a member with another generation is ILLEGAL_GENERATION",
    ),
    M(
        "uniform-assignor-skips-last-partition",
        "coordinator/consumer_group.py",
        "        for p in range(partitions[t]):\n",
        "        for p in range(partitions[t] - 1):\n",
        "test_kip848_join_assigns_all_partitions",
        "KIP-848: the server assignor assigns every partition of the subscribed topics",
    ),
    M(
        "member-epoch-ahead-accepted",
        "coordinator/consumer_group.py",
        "        if epoch == m.epoch:\n            return\n",
        "        if epoch >= m.epoch:\n            return\n",
        "test_kip848_member_errors",
        "KIP-848: a member epoch the coordinator never gave is FENCED_MEMBER_EPOCH",
    ),
    M(
        "classic-join-on-consumer-group",
        "coordinator/groups.py",
        "        if group_id in self.consumer.groups:\n"
        "            raise KafkaError(\n"
        '                ErrorCode.INCONSISTENT_GROUP_PROTOCOL, f"group {group_id} is a consumer group"\n'
        "            )\n",
        "",
        "test_kip848_classic_join_refused",
        "KIP-848: JoinGroup on a consumer-protocol group is INCONSISTENT_GROUP_PROTOCOL",
    ),
    M(
        "consumer-group-listed-as-classic",
        "handlers/api_16_list_groups.py",
        '                group_type="consumer",\n',
        '                group_type="classic",\n',
        "test_kip848_describe_and_list",
        "KIP-848: ListGroups v5 reports consumer-protocol groups with type consumer",
    ),
    M(
        "consumer-heartbeat-sends-no-assignment",
        "coordinator/consumer_group.py",
        "            send = self._assignment_wire(member.assigned)\n",
        "            send = []  # mutation: the assignment never reaches the member\n",
        "test_kip848",
        "KIP-848: ConsumerGroupHeartbeat brings the member its assigned partitions",
    ),
]

TRANSACTIONS = [
    M(
        "init-producer-id-keeps-epoch",
        "coordinator/transactions.py",
        "            txn.producer_epoch += 1\n",
        "            txn.producer_epoch += 0  # mutation\n",
        "test_init_producer_id_bumps_epoch or test_old_epoch_is_fenced",
        "KIP-98: InitProducerId for a transactional id bumps its epoch, fencing older producers",
    ),
    M(
        "transaction-timeout-unbounded",
        "coordinator/transactions.py",
        "        if not 0 < req.transaction_timeout_ms <= self.max_timeout_ms:\n",
        "        if not 0 < req.transaction_timeout_ms:\n",
        "test_transaction_timeout_above_max",
        "a timeout above transaction.max.timeout.ms is INVALID_TRANSACTION_TIMEOUT",
    ),
    M(
        "fencing-codes-swapped",
        "coordinator/transactions.py",
        "        ErrorCode.PRODUCER_FENCED if version >= first_version else ErrorCode.INVALID_PRODUCER_EPOCH\n",
        "        ErrorCode.INVALID_PRODUCER_EPOCH if version >= first_version else ErrorCode.PRODUCER_FENCED\n",
        "test_old_epoch_is_fenced",
        "KIP-588: a fenced producer gets PRODUCER_FENCED from v2, INVALID_PRODUCER_EPOCH before",
    ),
    M(
        "transactional-produce-unchecked",
        "coordinator/transactions.py",
        "        if txn.state != ONGOING or (topic, partition) not in txn.partitions:\n",
        "        if txn.state == ONGOING and (topic, partition) not in txn.partitions:\n",
        "test_produce_outside_transaction_partitions",
        "KIP-98: a transactional batch for a partition outside an open transaction is refused",
    ),
    M(
        "end-txn-commits-nothing",
        "coordinator/transactions.py",
        "        if txn.state != ONGOING:\n            if not commit and txn.state == EMPTY:\n",
        "        if txn.state not in (ONGOING, EMPTY):\n"
        "            if not commit and txn.state == EMPTY:\n",
        "test_end_txn_without_transaction",
        "KIP-98: EndTxn without an open transaction is INVALID_TXN_STATE",
    ),
    M(
        "verify-only-ignores-partitions",
        "coordinator/transactions.py",
        "                        if ok and (t, p) in txn.partitions\n",
        "                        if ok\n",
        "test_add_partitions_batched_verify_only",
        "KIP-890: verify_only reports which partitions are in the transaction",
    ),
    M(
        "list-transactions-hides-unknown-states",
        "handlers/api_66_list_transactions.py",
        "    unknown = [s for s in req.state_filters if s.lower() not in STATE_BY_NAME]\n",
        "    unknown: list[str] = []  # mutation\n",
        "test_describe_and_list_transactions",
        "KIP-664: ListTransactions names the state filters it does not know",
    ),
    M(
        "describe-producers-no-open-transaction",
        "handlers/api_61_describe_producers.py",
        "                        current_txn_start_offset=s.current_txn_start_offset,\n",
        "                        current_txn_start_offset=-1,\n",
        "test_describe_producers_shows_open_transaction",
        "KIP-664: DescribeProducers shows where a producer's open transaction started",
    ),
    M(
        "commit-writes-abort-marker",
        "coordinator/transactions.py",
        "        control = records.CONTROL_COMMIT if commit else records.CONTROL_ABORT\n",
        "        control = records.CONTROL_ABORT  # mutation: commits write ABORT markers\n",
        "test_committed_transaction_visible or test_aborted_transaction_invisible",
        "KIP-98: a committed transaction's records reach read_committed consumers",
    ),
    M(
        "lso-ignores-open-transactions",
        "storage/log.py",
        "        return self.high_watermark if first is None else min(first, self.high_watermark)\n",
        "        return self.high_watermark  # mutation: open transactions do not hold it\n",
        "test_raw_abort_lso_and_aborted_list",
        "KIP-98: an open transaction holds the last stable offset (Fetch and ListOffsets)",
    ),
    M(
        "fetch-reports-no-lso",
        "handlers/api_01_fetch.py",
        "        last_stable_offset=lso,\n",
        "        last_stable_offset=-1,\n",
        "test_read_committed_without_transactions or test_raw_abort_lso_and_aborted_list",
        "KIP-98: Fetch reports the last stable offset",
    ),
    M(
        "aborted-transactions-not-listed",
        "handlers/api_01_fetch.py",
        "        if read_committed:\n            aborted = [\n",
        "        if False:  # mutation: read_committed gets no aborted transactions\n"
        "            aborted = [\n",
        "test_raw_abort_lso_and_aborted_list or test_aborted_transaction_invisible",
        "KIP-98: read_committed fetches list the aborted transactions in their range",
    ),
]

MUTATIONS: list[Mutation] = (
    CONNECTION + METADATA + PRODUCE + FETCH + OFFSETS + ADMIN + GROUPS + TRANSACTIONS
)
