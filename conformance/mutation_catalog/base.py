"""The Mutation record and the helpers the area modules share."""

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
        # (kafka-python when compression does not shrink it, librdkafka before 2.11.1 when the
        # broker does not advertise Produce v0), and this shows which rows do.
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
