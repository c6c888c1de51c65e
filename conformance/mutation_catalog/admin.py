"""Mutations of ListOffsets and OffsetForLeaderEpoch, and of the admin APIs (topics, configs,
log dirs, leader election, cluster and producer descriptions)."""

from __future__ import annotations

from conformance.mutation_catalog.base import M

OFFSETS = [
    M(
        "list-offsets-earliest-unknown",
        "    elif ts in (EARLIEST, EARLIEST_LOCAL):\n",
        "    elif ts == EARLIEST_LOCAL:\n",
        "test_earliest",
        "ListOffsets -2 (earliest) answers the log start offset",
    ),
    M(
        "list-offsets-latest-off-by-one",
        "        offset = log.last_stable_offset if isolation_level == 1 else log.high_watermark\n",
        "        offset = log.last_stable_offset if isolation_level == 1 else log.high_watermark - 1\n",
        "test_latest or test_every_version",
        "ListOffsets -1 (latest) answers the high watermark, at every version",
    ),
    M(
        "list-offsets-max-timestamp-last-offset",
        "        found = log.max_timestamp_entry()\n",
        "        found = (log.high_watermark - 1, -1)  # mutation: the last offset, no timestamp\n",
        "test_max_timestamp",
        "KIP-734: -3 answers the offset and timestamp of the newest timestamp",
    ),
    M(
        "list-offsets-echoes-timestamp",
        "            if ts >= timestamp and off >= start_offset:\n                return off, ts\n",
        "            if ts >= timestamp and off >= start_offset:\n"
        "                return off, timestamp  # mutation: the asked, not the found time\n",
        "test_by_timestamp",
        "KIP-79: a timestamp finds the first record at or after it, with that record's time",
    ),
    M(
        "list-offsets-after-all-is-log-end",
        "        return PartitionResponse(partition_index=p.partition_index, offset=-1, timestamp=-1)\n",
        "        return PartitionResponse(\n"
        "            partition_index=p.partition_index, offset=log.high_watermark, timestamp=-1\n"
        "        )\n",
        "test_by_timestamp_after_all",
        "KIP-79: a timestamp after every record answers offset -1",
    ),
    M(
        "list-offsets-epoch-errors-swapped",
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
        "        if epoch == self.latest_epoch:\n            return epoch, log_end_offset\n",
        "",
        "test_offset_for_leader_epoch",
        "KIP-320: the current leader epoch ends at the log end offset (OffsetForLeaderEpoch)",
    ),
]

ADMIN = [
    M(
        "create-topics-sees-duplicates",
        "            if counts[t.name] > 1:\n",
        "            if counts[t.name] >= 1:\n",
        "test_create_topics_every_version",
        "CreateTopics creates each topic named once in the request, at every version",
    ),
    M(
        "topic-exists-wrong-code",
        "            raise KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, f\"Topic '{name}' already exists.\")\n",
        "            raise KafkaError(ErrorCode.INVALID_REQUEST, f\"Topic '{name}' already exists.\")\n",
        "test_topic_already_exists",
        "creating a topic that exists is TOPIC_ALREADY_EXISTS",
    ),
    M(
        "replication-factor-unchecked",
        "        if replication > 1:\n",
        "        if replication > 100:\n",
        "test_replication_factor_above_brokers",
        "a replication factor above the broker count is INVALID_REPLICATION_FACTOR",
    ),
    M(
        "zero-partitions-accepted",
        "        if partitions <= 0:\n",
        "        if partitions < 0:\n",
        "test_zero_partitions",
        "a topic with zero partitions is INVALID_PARTITIONS",
    ),
    M(
        "default-partitions-not-applied",
        "        if partitions == -1:\n",
        "        if partitions == -2:  # mutation: -1 is not read as the broker default\n",
        "test_default_partitions_and_rf",
        "KIP-464: -1 partitions and replication factor take the broker defaults",
    ),
    M(
        "cleanup-policy-unvalidated",
        'list_of("delete", "compact", empty=True), "log.cleanup.policy")',
        'None, "log.cleanup.policy")',
        "test_invalid_config",
        "cleanup.policy takes only delete and compact, else INVALID_CONFIG",
    ),
    M(
        "unknown-topic-config-accepted",
        "        if key is None:\n"
        '            raise KafkaError(ErrorCode.INVALID_CONFIG, f"Unknown topic config name: {name}")\n',
        "        if key is None:\n            continue  # mutation: unknown names pass\n",
        "test_invalid_config",
        "an unknown topic config name is INVALID_CONFIG",
    ),
    M(
        "bad-config-value-wrong-code",
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
        '    if name in (".", ".."):\n',
        '    if name == ".":\n',
        "test_invalid_topic_names",
        'the topic names "." and ".." are INVALID_TOPIC_EXCEPTION',
    ),
    M(
        "topic-name-length-unchecked",
        "MAX_TOPIC_NAME = 249\n",
        "MAX_TOPIC_NAME = 255\n",
        "test_invalid_topic_names",
        "topic names longer than 249 characters are INVALID_TOPIC_EXCEPTION",
    ),
    M(
        "topic-name-any-character",
        '_LEGAL = re.compile(r"[a-zA-Z0-9._-]+")\n',
        '_LEGAL = re.compile(r".+")  # mutation: any character\n',
        "test_invalid_topic_name",
        "topic names use only ASCII letters, digits, '.', '_' and '-'",
    ),
    M(
        "validate-only-creates",
        "            if req.validate_only:\n",
        "            if False:  # mutation: validate_only ignored\n",
        "test_validate_only",
        "CreateTopics with validate_only checks the request without creating the topic",
    ),
    M(
        "only-first-partition-created",
        "                for p in range(partitions):\n"
        "                    self.logs.create_log(name, p, topic.topic_id, config)\n",
        "                for p in range(min(partitions, 1)):  # mutation\n"
        "                    self.logs.create_log(name, p, topic.topic_id, config)\n",
        "test_created_topic_writable",
        "every partition of a new topic takes writes once the broker serves it",
    ),
    M(
        "delete-unknown-topic-id-code",
        "                    error_code=ErrorCode.UNKNOWN_TOPIC_ID,\n"
        '                    error_message=f"Topic id {topic_id} does not exist",\n',
        "                    error_code=ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,\n"
        '                    error_message=f"Topic id {topic_id} does not exist",\n',
        "test_delete_topics_by_name_and_id",
        "DeleteTopics v6 by an unknown topic id is UNKNOWN_TOPIC_ID",
    ),
    M(
        "create-partitions-shrinks",
        "            if t.count < topic.partitions:\n",
        "            if t.count < 1:\n",
        "test_create_partitions",
        "CreatePartitions only adds partitions; fewer than now is INVALID_PARTITIONS",
    ),
    M(
        "describe-configs-override-source-lost",
        "                synonyms.insert(0, (name, shown, SOURCE_DYNAMIC_TOPIC))\n",
        "                pass  # mutation: the topic override is not named as the source\n",
        "test_describe_configs_sources",
        "DescribeConfigs shows a topic override with source DYNAMIC_TOPIC_CONFIG",
    ),
    M(
        "broker-resource-by-id-refused",
        "    if int(name) == broker.node_id:",
        "    if int(name) != int(name):  # mutation",
        "test_describe_broker_configs",
        "DescribeConfigs of the broker resource named by its node id lists broker configs",
    ),
    M(
        "dynamic-broker-static-keys-accepted",
        "[n for n in sets if n in KAFKA_STATIC_KEYS]",
        "[n for n in sets if n in KAFKA_STATIC_KEYS and not n]",
        "test_dynamic_broker_configs",
        "AlterConfigs refuses Kafka's static broker keys (num.partitions) with INVALID_REQUEST",
    ),
    M(
        "dynamic-broker-listener-only-keys-unprefixed",
        "        [n for n in sets if n in LISTENER_ONLY_KEYS],\n",
        "        [],  # mutation\n",
        "test_dynamic_broker_configs",
        "TLS key and trust store keys are taken only with a listener.name.<l>. prefix",
    ),
    M(
        "dynamic-broker-per-broker-rule-inverted",
        "    if not per_broker:\n        _refuse(\n",
        "    if per_broker:  # mutation\n        _refuse(\n",
        "test_dynamic_broker_configs",
        "per-broker keys (sasl.kerberos.min.time.before.relogin) are taken for a broker id, "
        "not as the cluster default",
    ),
    M(
        "dynamic-broker-every-key-per-broker",
        "    return key is not None and key.per_broker\n",
        "    return key is not None  # mutation\n",
        "test_dynamic_broker_configs",
        "cluster-wide keys (log.cleaner.backoff.ms) are taken as the cluster default",
    ),
    M(
        "dynamic-broker-unknown-keys-refused",
        "            _parse_as(base, raw)\n    return raw\n",
        "            _parse_as(base, raw)\n"
        '    raise DynamicConfigError(f"unknown config {name}")  # mutation\n',
        "test_dynamic_broker_configs",
        "names Kafka does not know are accepted and kept, as Kafka keeps them",
    ),
    M(
        "dynamic-broker-values-unparsed",
        "        return parse_value(key, raw)\n    except ConfigError as exc:\n"
        "        raise DynamicConfigError(str(exc)) from None\n",
        "        return parse_value(key, raw)\n    except ConfigError:\n"
        "        return raw  # mutation\n",
        "test_dynamic_broker_configs",
        "a dynamic broker value that is not of its key's type is INVALID_REQUEST",
    ),
    M(
        "dynamic-broker-thread-pools-fixed",
        "        old, value = config.get(name), parsed[name]\n        if value > 2 * old:\n",
        "        old, value = config.get(name), parsed[name]\n        if value > old:  # mutation\n",
        "test_dynamic_broker_configs",
        "a thread pool (num.io.threads) may grow to twice its size at run time",
    ),
    M(
        "describe-configs-unknown-topic-defaults",
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
        "                items += [v for v in values if v not in items]\n",
        "                items = values  # mutation: APPEND replaces the list\n",
        "test_incremental_alter_configs",
        "KIP-339: APPEND adds to a list config, keeping its current values",
    ),
    M(
        "delete-records-keeps-start",
        "            self.log_start_offset = offset\n",
        "            pass  # mutation: the log start offset stays\n",
        "test_delete_records",
        "KIP-107: DeleteRecords moves the log start offset (the low watermark)",
    ),
    M(
        "describe-cluster-no-cluster-id",
        "    response = DescribeClusterResponse(\n        cluster_id=broker.metadata.cluster_id,\n",
        '    response = DescribeClusterResponse(\n        cluster_id="",\n',
        "test_describe_cluster",
        "KIP-700: DescribeCluster reports the brokers and the cluster id Metadata reports",
    ),
    M(
        "log-dir-sizes-zero",
        "partition_index=log.partition, partition_size=log.size_in_bytes(), offset_lag=0",
        "partition_index=log.partition, partition_size=0, offset_lag=0",
        "test_describe_log_dirs",
        "KIP-113: DescribeLogDirs reports each partition's size on disk",
    ),
    M(
        "describe-topic-partitions-no-paging",
        "        end = min(topic.partitions, (first + budget + 2**31) % 2**32 - 2**31)\n",
        "        end = topic.partitions  # mutation: response_partition_limit ignored\n",
        "test_describe_topic_partitions_paging",
        "KIP-966: DescribeTopicPartitions pages with response_partition_limit and a cursor",
    ),
    M(
        "describe-producers-no-sequence",
        "                        last_sequence=s.last_sequence,\n",
        "                        last_sequence=-1,\n",
        "test_describe_producers",
        "KIP-664: DescribeProducers lists each producer with its last sequence",
    ),
    M(
        "elect-leaders-claims-election",
        "                        error_code=ErrorCode.ELECTION_NOT_NEEDED,\n",
        "                        error_code=ErrorCode.NONE,\n",
        "test_elect_leaders_not_needed",
        "KIP-460: electing the leader that already leads answers ELECTION_NOT_NEEDED",
    ),
]
