"""Every API answers a handler's unexpected exception with its error response, through a real
socket to a broker serving on port 0: the answer decodes as that API's response, carries
UNKNOWN_SERVER_ERROR in every error code (top-level, or each result mirroring the request),
and the connection stays open for the next request.

The broker runs in this process (a thread with its own trio loop) so that a test can swap
one API's handler in the registry for one that raises.
"""

from __future__ import annotations

import dataclasses
import sys
import uuid

import pytest

from conformance.wire import WireClient
from kpy import dispatch
from kpy.handlers import HANDLERS
from kpy.protocol import api_keys
from kpy.protocol.error_codes import ErrorCode
from kpy.protocol.messages.api_versions import ApiVersionsRequest
from kpy.testing import BrokerThread
from tests.protocol.test_error_response import error_codes

UNKNOWN = ErrorCode.UNKNOWN_SERVER_ERROR
SAMPLE = {
    "bool": False,
    "int8": 2,
    "int16": 1,
    "uint16": 1,
    "int32": 1,
    "uint32": 1,
    "int64": 1,
    "float64": 0.5,
    "string": "kpy",
    "bytes": b"x",
    "uuid": uuid.UUID(int=42),
}


@pytest.fixture(scope="module")
def in_process_broker(tmp_path_factory):
    """host:port of a broker serving in a thread of this process."""
    with BrokerThread(tmp_path_factory.mktemp("kpy-errors")) as broker:
        yield broker.bootstrap


def sample(cls, version: int, flexible: bool):
    """A request with every field it has at ``version`` set, each array holding one item."""
    module = sys.modules[cls.__module__]
    values = {}
    for attr, ftype, versions, _nullable, tag, tagged, struct_name in cls.FIELDS:
        if tag is not None and not (flexible and tagged[0] <= version <= tagged[1]):
            continue
        if not versions[0] <= version <= versions[1]:
            continue
        elem = ftype.removeprefix("[]")
        if struct_name is not None:
            value = sample(getattr(module, struct_name), version, flexible)
        elif elem == "records":
            continue  # a null records value; the handler never reads it
        else:
            value = SAMPLE[elem]
        values[attr] = [value] if ftype.startswith("[]") else value
    return cls(**values)


CASES = [
    pytest.param(key, end, id=f"{info[0]}-{end}")
    for key, info in sorted(HANDLERS.items())
    for end in ("min", "max")
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("key", "end"), CASES)
def test_an_unexpected_exception_is_answered_and_the_connection_stays_open(
    in_process_broker, monkeypatch, key, end
):
    dispatch.load_handlers()
    reg = dispatch.REGISTRY[key]
    version = reg.min_version if end == "min" else reg.max_version
    info = api_keys.API_KEYS[key]

    async def boom(ctx, req):
        raise RuntimeError(f"a bug in the {info.name} handler")

    monkeypatch.setitem(dispatch.REGISTRY, key, dataclasses.replace(reg, handler=boom))
    request = sample(info.request_class, version, info.is_flexible(version))
    if key == 0:
        request.acks = -1  # an acks=0 produce gets no answer
    with WireClient(in_process_broker) as wire:
        response = wire.send(request, version)
        assert type(response) is info.response_class
        codes = error_codes(response, version, info.is_flexible(version))
        if key != 35 or version >= 3:  # DescribeLogDirs has no error code before v3
            assert codes, f"{info.name} v{version} answered without an error code"
        assert set(codes) == {UNKNOWN} or not codes
        # The answer is the API's error response to this request, each of its parts mirrored
        # (tests/protocol/test_error_response.py checks those shapes against Kafka's).
        if reg.error_response is not None:
            assert response == reg.error_response(request, version, UNKNOWN)
        else:
            assert response == request.error_response(version, UNKNOWN)
        monkeypatch.setitem(dispatch.REGISTRY, key, reg)
        follow_up = ApiVersionsRequest(client_software_name="kpy", client_software_version="1")
        assert wire.send(follow_up, 3).error_code == 0
