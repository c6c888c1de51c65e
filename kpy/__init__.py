"""kpy: a Kafka wire-protocol-compatible broker written in Python on trio."""

import time as _time

__version__ = "0.1.0"

# When kpy was first imported: the ready line's start-up time counts from here where the
# process start time cannot be read (kpy.server.startup_seconds).
IMPORTED_AT = _time.monotonic()
