#!/usr/bin/env python3
"""A loopback TCP proxy that delays every byte by DELAY_MS in each direction (so a round
trip gains twice that), for bench/sftp-throughput's high-latency case. Order is kept: each
direction is a queue of (due time, bytes). Usage: delay-proxy.py LISTEN_PORT TARGET_PORT DELAY_MS
It prints "ready" once listening and runs until killed."""
import asyncio
import sys


async def pump(reader, writer, delay):
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
            writer.write(data)
            await writer.drain()
        writer.close()

    sender = asyncio.create_task(deliver())
    loop = asyncio.get_running_loop()
    while True:
        data = await reader.read(262144)
        if not data:
            break
        await queue.put((loop.time() + delay, data))
    await queue.put((0, None))
    await sender


async def main(listen_port, target_port, delay):
    async def handle(client_reader, client_writer):
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", target_port)
        await asyncio.gather(
            pump(client_reader, server_writer, delay), pump(server_reader, client_writer, delay),
            return_exceptions=True)

    server = await asyncio.start_server(handle, "127.0.0.1", listen_port)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) / 1000))
