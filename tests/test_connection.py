"""Connection output: responses gathered into one write still reach a slow reader whole, in
order, when the kernel takes them a piece at a time."""

from __future__ import annotations

import socket

import pytest
import trio

from kpy.connection import Connection


@pytest.mark.timeout(30)
@pytest.mark.parametrize("pieces", [1, 3, 100])
def test_partial_writes_are_resumed_until_every_byte_is_sent(pieces):
    chunks = []
    for i in range(pieces):
        chunk = bytes([65 + i % 26]) * (70_000 // pieces + i)
        chunks.append([chunk, bytearray(chunk), memoryview(chunk)][i % 3])
    expected = b"".join(bytes(c) for c in chunks)

    async def main() -> bytes:
        with socket.create_server(("127.0.0.1", 0)) as server:
            client = socket.create_connection(server.getsockname())
            accepted, _ = server.accept()
        ours = trio.socket.from_stdlib_socket(accepted)
        theirs = trio.socket.from_stdlib_socket(client)
        # A small send buffer: the kernel takes each gathered write only in part.
        ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        conn = Connection(trio.SocketStream(ours), broker=None, listener="test")  # type: ignore[arg-type]
        received = bytearray()

        async def read_all() -> None:
            while len(received) < len(expected):
                data = await theirs.recv(1000)
                assert data, "connection closed early"
                received.extend(data)

        with trio.fail_after(10):  # a lost or repeated byte leaves the reader waiting
            async with trio.open_nursery() as nursery:
                nursery.start_soon(read_all)
                await conn._send_chunks(chunks)
        assert conn.bytes_out == len(expected)
        ours.close()
        theirs.close()
        return bytes(received)

    received = trio.run(main)
    assert len(received) == len(expected)
    first_difference = next((i for i, (a, b) in enumerate(zip(received, expected)) if a != b), None)
    assert first_difference is None
