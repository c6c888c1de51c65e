"""The one place a handler turns a KafkaError into an error code: for one item of a request
(a partition, a topic, a resource, a group, a member) that fails while the others go on.

A failure of the whole request is not caught here: the handler lets it rise and dispatch
answers with the API's error response.

    with ItemError() as failed:
        log = broker.partition_log(topic, index)
        ...
    if failed:
        return answer(index, failed.code, failed.message)

    code = code_of(groups.delete_group, group_id)   # 0 when it went through
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any

from kpy.protocol.error_codes import ErrorCode, KafkaError


class ItemError:
    """Catches the KafkaError raised inside its ``with`` block (any other exception goes on):
    afterwards ``code`` is its error code (0 if none was raised) and ``message`` its message.
    True when something was caught."""

    __slots__ = ("code", "message", "error")

    def __init__(self) -> None:
        self.code: int = ErrorCode.NONE
        self.message: str | None = None
        self.error: KafkaError | None = None

    def __enter__(self) -> ItemError:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if not isinstance(exc, KafkaError):
            return False
        self.error, self.code, self.message = exc, exc.code, exc.message
        return True

    def __bool__(self) -> bool:
        return self.error is not None


def code_of(check: Callable[..., Any], *args: Any, **kwargs: Any) -> int:
    """Run ``check(*args, **kwargs)`` for one item: the code of the KafkaError it raises, or 0."""
    try:
        check(*args, **kwargs)
    except KafkaError as exc:
        return exc.code
    return ErrorCode.NONE
