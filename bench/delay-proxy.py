#!/usr/bin/env python3
"""A loopback TCP proxy that delays every byte by DELAY_MS in each direction (so a round
trip gains twice that), for bench/sftp-throughput's high-latency case. Order is kept: each
direction is a queue of (due time, bytes).
Usage: delay-proxy.py LISTEN_PORT TARGET_PORT DELAY_MS [COUNT_FILE]
With COUNT_FILE, each time a connection ends the proxy rewrites it with three numbers: the
connections accepted so far, those ended, and the bytes the target has sent towards clients
(bench/sftp-resume counts what a resumed download costs on the wire with it). It prints "ready" once
listening and runs until killed."""
import asyncio
import os
import sys


async def pump(reader, writer, delay, counted=None):
    queue = asyncio.Queue()

    async def deliver():
        loop = asyncio.get_running_loop()
        while True:
            due, data = await queue.get()
            if data is None:
                break
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                writer.write(data)
                await writer.drain()
            except ConnectionError:
                pass  # the far side is gone: keep draining the queue so the reader can end
        writer.close()

    sender = asyncio.create_task(deliver())
    loop = asyncio.get_running_loop()
    try:
        while True:
            data = await reader.read(262144)
            if not data:
                break
            if counted is not None:
                counted[0] += len(data)
            await queue.put((loop.time() + delay, data))
    finally:  # end or reset (a killed client): either way the other side is closed too
        await queue.put((0, None))
        await sender


async def main(listen_port, target_port, delay, count_file):
    sent = [0]
    accepted = [0]
    ended = [0]

    async def handle(client_reader, client_writer):
        accepted[0] += 1
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", target_port)
            await asyncio.gather(
                pump(client_reader, server_writer, delay),
                pump(server_reader, client_writer, delay, sent),
                return_exceptions=True)
        finally:
            ended[0] += 1
            if count_file:
                with open(count_file + ".tmp", "w") as out:
                    out.write(f"{accepted[0]} {ended[0]} {sent[0]}\n")
                os.replace(count_file + ".tmp", count_file)

    server = await asyncio.start_server(handle, "127.0.0.1", listen_port)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) / 1000,
                     sys.argv[4] if len(sys.argv) > 4 else None))
