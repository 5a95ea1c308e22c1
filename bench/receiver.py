"""A fast benchmark receiver: asyncio, HTTP/1.1 keep-alive, answers every POST with 200 after an optional delay.

Run as a process: `python -m bench.receiver --delay-ms 50`; it prints its port on the first line. With
`--listeners K` it listens on K ports (K subscriber hosts, as clients key connections by port) and prints them all.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"


async def serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:].strip())
            if length:
                await reader.readexactly(length)
            if delay:
                await asyncio.sleep(delay)
            writer.write(ANSWER)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def main(delay_ms: float, listeners: int = 1) -> None:
    servers = [
        await asyncio.start_server(lambda r, w: serve_connection(r, w, delay_ms / 1000), "127.0.0.1", 0, backlog=4096)
        for _ in range(listeners)
    ]
    print(" ".join(str(server.sockets[0].getsockname()[1]) for server in servers), flush=True)
    await asyncio.gather(*(server.serve_forever() for server in servers))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--listeners", type=int, default=1)
    args = parser.parse_args()
    try:
        asyncio.run(main(args.delay_ms, args.listeners))
    except KeyboardInterrupt:
        sys.exit(0)
