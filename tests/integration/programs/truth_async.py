"""Truth suite: 2,000 asyncio tasks whose worker coroutine does CPU work
between awaits. Coroutine frames live in the coroutine objects, outside the
thread's data stack, and every step switches task. A stopped read shows the
worker's real share; the default mode must agree.
Usage: truth_async.py SECONDS [ready]"""
import asyncio
import sys
import time


async def worker(end):
    while time.time() < end:
        s = 0
        for k in range(300):
            s += k * k
        await asyncio.sleep(0)


async def main(seconds):
    end = time.time() + seconds
    await asyncio.gather(*(worker(end) for _ in range(2000)))


if __name__ == "__main__":
    if len(sys.argv) > 2:
        print("ready", flush=True)
    asyncio.run(main(float(sys.argv[1])))
