"""Mutations of the group and transaction coordinators."""

from __future__ import annotations

from conformance.mutation_catalog.base import M

GROUPS = [
    M(
        "find-coordinator-v0-3-no-port",
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
        "            for key in req.coordinator_keys\n",
        "            for key in req.coordinator_keys[:1]\n",
        "test_find_coordinator",
        "KIP-699: FindCoordinator v4+ answers every key of the batch",
    ),
    M(
        "member-id-not-required",
        "            if instance_id is None and version >= 4:\n",
        "            if instance_id is None and version >= 10:\n",
        "test_member_id_required",
        "KIP-394: JoinGroup v4+ without member id answers MEMBER_ID_REQUIRED with an id",
    ),
    M(
        "generation-not-bumped",
        "        group.generation_id += 1\n",
        "        group.generation_id += 0\n",
        "test_single_member_generation",
        "every completed rebalance starts a new generation (the first is 1)",
    ),
    M(
        "min-session-timeout-unchecked",
        "        if not self.min_session <= timeout_ms <= self.max_session:\n",
        "        if not 0 <= timeout_ms <= self.max_session:\n",
        "test_invalid_session_timeout",
        "a session timeout below group.min.session.timeout.ms is INVALID_SESSION_TIMEOUT",
    ),
    M(
        "heartbeat-newer-generation-accepted",
        "        if req.generation_id != group.generation_id:\n"
        "            raise KafkaError(\n"
        "                ErrorCode.ILLEGAL_GENERATION,\n"
        '                f"generation {req.generation_id} is not {group.generation_id}",\n'
        "            )\n"
        "        return group, member\n",
        "        if req.generation_id < group.generation_id:\n"
        "            raise KafkaError(\n"
        "                ErrorCode.ILLEGAL_GENERATION,\n"
        '                f"generation {req.generation_id} is not {group.generation_id}",\n'
        "            )\n"
        "        return group, member\n",
        "test_heartbeat_errors",
        "a heartbeat (or SyncGroup) with another generation than the group's is ILLEGAL_GENERATION",
    ),
    M(
        "leave-keeps-member",
        '        log.info("group %s: member %s left", group_id, member_id)\n'
        "        self._remove_member(group, member_id)\n",
        '        log.info("group %s: member %s left", group_id, member_id)\n',
        "test_leave_group",
        "KIP-345: LeaveGroup removes the member; the group without members is Empty",
    ),
    M(
        "list-groups-state-filter-inverted",
        "        if states and group.state.lower() not in states:\n",
        "        if states and group.state.lower() in states:\n",
        "test_describe_and_list",
        "KIP-518: ListGroups v4+ lists the groups in the states asked for",
    ),
    M(
        "describe-groups-no-assignment",
        "                        member_assignment=m.assignment,\n",
        '                        member_assignment=b"",\n',
        "test_describe_and_list",
        "DescribeGroups shows each member's assignment",
    ),
    M(
        "delete-group-with-members",
        '            raise KafkaError(ErrorCode.GROUP_ID_NOT_FOUND, f"group {group_id} does not exist")\n'
        "        if group.members:\n"
        '            raise KafkaError(ErrorCode.NON_EMPTY_GROUP, f"group {group_id} has members")\n',
        '            raise KafkaError(ErrorCode.GROUP_ID_NOT_FOUND, f"group {group_id} does not exist")\n',
        "test_delete_groups",
        "DeleteGroups refuses a group that has members (NON_EMPTY_GROUP)",
    ),
    M(
        "sync-drops-assignment",
        '                m.assignment = by_member.get(m.member_id, b"")\n',
        '                m.assignment = b""  # mutation: the leader\'s assignment is dropped\n',
        "test_client_group_consumes_everything or test_single_member_generation",
        "SyncGroup hands each member the assignment the leader computed",
    ),
    M(
        "commit-metadata-dropped",
        "                    p.committed_offset, p.committed_leader_epoch, p.committed_metadata, now_ms\n",
        "                    p.committed_offset, p.committed_leader_epoch, None, now_ms\n",
        "test_standalone_commit_and_fetch",
        "OffsetCommit stores the metadata string with the offset; OffsetFetch returns both",
    ),
    M(
        "committed-offsets-invisible",
        "        group.offsets.update(offsets)\n",
        "        # mutation: written to __consumer_offsets but not applied to the group\n",
        "test_standalone_commit_and_fetch",
        "an OffsetCommit answered without error is what the next OffsetFetch returns",
    ),
    M(
        "uncommitted-offset-zero",
        "                    committed_offset=c.offset if c else -1,\n",
        "                    committed_offset=c.offset if c else 0,\n",
        "test_fetch_uncommitted_is_minus_one",
        "OffsetFetch of a partition without a committed offset answers -1",
    ),
    M(
        "commit-newer-generation-accepted",
        "        self.classic.known_member(group, member_id, instance_id)\n"
        "        if generation != group.generation_id:\n",
        "        self.classic.known_member(group, member_id, instance_id)\n"
        "        if generation < group.generation_id:\n",
        "test_commit_with_wrong_generation",
        "OffsetCommit by a member with another generation is ILLEGAL_GENERATION",
    ),
    M(
        "uniform-assignor-skips-last-partition",
        "        for p in range(partitions[t]):\n",
        "        for p in range(partitions[t] - 1):\n",
        "test_kip848_join_assigns_all_partitions",
        "KIP-848: the server assignor assigns every partition of the subscribed topics",
    ),
    M(
        "member-epoch-ahead-accepted",
        "        if epoch == m.epoch:\n            return\n",
        "        if epoch >= m.epoch:\n            return\n",
        "test_kip848_member_errors",
        "KIP-848: a member epoch the coordinator never gave is FENCED_MEMBER_EPOCH",
    ),
    M(
        "first-heartbeat-without-rebalance-timeout",
        "        if req.rebalance_timeout_ms == -1:\n",
        "        if False:  # mutation: the rebalance timeout is optional\n",
        "test_kip848_member_errors",
        "KIP-848: a first heartbeat without RebalanceTimeoutMs is INVALID_REQUEST",
    ),
    M(
        "first-heartbeat-with-owned-partitions",
        "        if req.topic_partitions is None or req.topic_partitions:\n",
        "        if req.topic_partitions is None:\n",
        "test_kip848_member_errors",
        "KIP-848: a member (re-)joining cannot claim to own partitions (INVALID_REQUEST)",
    ),
    M(
        "heartbeat-to-missing-group-unknown-member",
        '                raise KafkaError(ErrorCode.GROUP_ID_NOT_FOUND, f"Group {group_id} not found.")\n',
        "                raise KafkaError(ErrorCode.UNKNOWN_MEMBER_ID, req.member_id)  # mutation\n",
        "test_kip848_member_errors",
        "KIP-848: a heartbeat past epoch 0 to a group that does not exist is GROUP_ID_NOT_FOUND",
    ),
    M(
        "classic-join-on-consumer-group",
        "            if consumer_group.members:\n",
        "            if False:  # mutation: a JoinGroup replaces any consumer group\n",
        "test_kip848_classic_join_refused",
        "KIP-848: a JoinGroup of another protocol type than consumer cannot join a consumer group",
    ),
    M(
        "consumer-group-listed-as-classic",
        '                    group_type="consumer",\n',
        '                    group_type="classic",\n',
        "test_kip848_describe_and_list",
        "KIP-848: ListGroups v5 reports consumer-protocol groups with type consumer",
    ),
    M(
        "consumer-heartbeat-sends-no-assignment",
        "            send = self._assignment_wire(member.assigned)\n",
        "            send = []  # mutation: the assignment never reaches the member\n",
        "test_kip848",
        "KIP-848: ConsumerGroupHeartbeat brings the member its assigned partitions",
    ),
    M(
        "deleted-topic-keeps-offsets",
        "        self.groups.forget_topic(name)\n",
        "        pass  # mutation: groups keep the offsets of a deleted topic\n",
        "test_deleted_topic_offsets_are_removed",
        "deleting a topic removes its committed offsets from every group",
    ),
]

TRANSACTIONS = [
    M(
        "init-producer-id-keeps-epoch",
        "        return txn.producer_id, txn.producer_epoch + 1\n",
        "        return txn.producer_id, txn.producer_epoch + 0  # mutation\n",
        "test_init_producer_id_bumps_epoch or test_old_epoch_is_fenced",
        "KIP-98: InitProducerId for a transactional id bumps its epoch, fencing older producers",
    ),
    M(
        "transaction-timeout-unbounded",
        "        if not 0 < req.transaction_timeout_ms <= self.max_timeout_ms:\n",
        "        if not 0 < req.transaction_timeout_ms:\n",
        "test_transaction_timeout_above_max",
        "a timeout above transaction.max.timeout.ms is INVALID_TRANSACTION_TIMEOUT",
    ),
    M(
        "fencing-codes-swapped",
        "        ErrorCode.PRODUCER_FENCED if version >= first_version else ErrorCode.INVALID_PRODUCER_EPOCH\n",
        "        ErrorCode.INVALID_PRODUCER_EPOCH if version >= first_version else ErrorCode.PRODUCER_FENCED\n",
        "test_old_epoch_is_fenced",
        "KIP-588: a fenced producer gets PRODUCER_FENCED from v2, INVALID_PRODUCER_EPOCH before",
    ),
    M(
        "transactional-produce-unchecked",
        "        if txn.state != ONGOING or (topic, partition) not in txn.partitions:\n",
        "        if txn.state == ONGOING and (topic, partition) not in txn.partitions:\n",
        "test_produce_outside_transaction_partitions",
        "KIP-98: a transactional batch for a partition outside an open transaction is refused",
    ),
    M(
        "produce-outside-transaction-abortable-for-old-clients",
        "ABORTABLE_PRODUCE_VERSION = 11\n",
        "ABORTABLE_PRODUCE_VERSION = 0  # mutation\n",
        "test_produce_outside_transaction_partitions",
        "Produce before v11 gets INVALID_TXN_STATE for a partition outside the transaction",
    ),
    M(
        "produce-outside-transaction-never-abortable",
        "ABORTABLE_PRODUCE_VERSION = 11\n",
        "ABORTABLE_PRODUCE_VERSION = 99  # mutation\n",
        "test_produce_outside_transaction_partitions",
        "KIP-890: Produce v11 gets TRANSACTION_ABORTABLE for a partition outside the transaction",
    ),
    M(
        "end-txn-commits-nothing",
        "        if txn.state != ONGOING:\n            if not commit and txn.state == EMPTY:\n",
        "        if txn.state not in (ONGOING, EMPTY):\n"
        "            if not commit and txn.state == EMPTY:\n",
        "test_end_txn_without_transaction",
        "KIP-98: EndTxn without an open transaction is INVALID_TXN_STATE",
    ),
    M(
        "verify-only-invalid-txn-state",
        "                else ErrorCode.TRANSACTION_ABORTABLE\n",
        "                else ErrorCode.INVALID_TXN_STATE  # mutation\n",
        "test_add_partitions_batched_verify_only",
        "verify_only answers TRANSACTION_ABORTABLE for a partition outside the transaction",
    ),
    M(
        "verify-only-ignores-partitions",
        "                if ok and tp in txn.partitions\n",
        "                if ok\n",
        "test_add_partitions_batched_verify_only",
        "KIP-890: verify_only reports which partitions are in the transaction",
    ),
    M(
        "list-transactions-hides-unknown-states",
        "    unknown = [s for s in req.state_filters if s.lower() not in STATE_BY_NAME]\n",
        "    unknown: list[str] = []  # mutation\n",
        "test_describe_and_list_transactions",
        "KIP-664: ListTransactions names the state filters it does not know",
    ),
    M(
        "describe-producers-no-open-transaction",
        "                        current_txn_start_offset=s.current_txn_start_offset,\n",
        "                        current_txn_start_offset=-1,\n",
        "test_describe_producers_shows_open_transaction",
        "KIP-664: DescribeProducers shows where a producer's open transaction started",
    ),
    M(
        "commit-writes-abort-marker",
        "        control = records.CONTROL_COMMIT if commit else records.CONTROL_ABORT\n",
        "        control = records.CONTROL_ABORT  # mutation: commits write ABORT markers\n",
        "test_committed_transaction_visible or test_aborted_transaction_invisible",
        "KIP-98: a committed transaction's records reach read_committed consumers",
    ),
    M(
        "lso-ignores-open-transactions",
        "        return self.high_watermark if first is None else min(first, self.high_watermark)\n",
        "        return self.high_watermark  # mutation: open transactions do not hold it\n",
        "test_raw_abort_lso_and_aborted_list",
        "KIP-98: an open transaction holds the last stable offset (Fetch and ListOffsets)",
    ),
    M(
        "fetch-reports-no-lso",
        "        last_stable_offset=lso,\n",
        "        last_stable_offset=-1,\n",
        "test_read_committed_without_transactions or test_raw_abort_lso_and_aborted_list",
        "KIP-98: Fetch reports the last stable offset",
    ),
    M(
        "aborted-transactions-not-listed",
        "        if read_committed:\n            aborted = [\n",
        "        if False:  # mutation: read_committed gets no aborted transactions\n"
        "            aborted = [\n",
        "test_raw_abort_lso_and_aborted_list or test_aborted_transaction_invisible",
        "KIP-98: read_committed fetches list the aborted transactions in their range",
    ),
]
