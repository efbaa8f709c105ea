"""CPU time of one post, in this process: the JSON API's handler (or the command handler alone), no server, no client.

    .venv/bin/python benchmarks/post_cpu.py                      # 5 rounds of 500 posts through the API chain
    .venv/bin/python benchmarks/post_cpu.py --via handler        # threadlog.commands.handle only
    .venv/bin/python benchmarks/post_cpu.py --profile 30         # and cProfile's top 30 (cumulative) of one round

Each post is `benchmarks/post.py`'s: ~230 characters of Markdown (bold, italic, a link), an author name and email,
one guest (its cookie kept), into one thread opened beforehand, on a fresh SQLite file. `--via api` builds each
request with Django's RequestFactory and calls the API's own middleware chain (threadlog.asgi.ApiHandler), as the
server's request thread does, minus the ASGI hop; `--via handler` calls threadlog.commands.handle. Reported:
CPU ms per post (`time.process_time`) of each round and their median, and the load average. Less noisy than
post.py's rates on a shared machine, but a busy machine still slows every instruction (caches, frequency):
compare builds run one after the other, several rounds each.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "platform"), str(ROOT / "benchmarks")]

from post import BODY  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--posts", type=int, default=500, help="posts per round")
    ap.add_argument("--repeat", type=int, default=5, help="rounds")
    ap.add_argument("--via", choices=("api", "handler"), default="api")
    ap.add_argument("--format", choices=("markdown", "plain"), default="markdown")
    ap.add_argument("--profile", type=int, default=0, help="print cProfile's top N functions of one more round")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="threadlog_post_cpu_"))
    try:
        _run(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _run(args: argparse.Namespace, tmp: Path) -> None:
    os.environ.update({"DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}", "THREADLOG_VAR": str(tmp),
                       "RATE_LIMITS": "off"})
    from make_thread import setup_django

    setup_django()
    post = _api_poster(args.format) if args.via == "api" else _handler_poster(args.format)
    key = "bench-thread"
    counter = iter(range(10**9))
    for _ in range(50):  # opens the thread; warms the caches
        post(key, next(counter))
    gc.collect()
    gc.freeze()  # as the server does after start-up (threadlog.server_tuning)

    rounds = []
    for _ in range(args.repeat):
        cpu = time.process_time()
        for _ in range(args.posts):
            post(key, next(counter))
        rounds.append((time.process_time() - cpu) / args.posts * 1000)
    out = {"via": args.via, "format": args.format, "posts_per_round": args.posts,
           "cpu_ms_per_post": [round(r, 4) for r in rounds], "median_ms": round(statistics.median(rounds), 4),
           "loadavg": os.getloadavg()}
    print(json.dumps(out))
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.posts):
            post(key, next(counter))
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(args.profile)
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(args.profile)


def _api_poster(format: str):
    from django.test import RequestFactory

    from threadlog.asgi import ApiHandler

    handler = ApiHandler()
    handler.load_middleware(is_async=False)
    factory = RequestFactory()

    def post(key: str, n: int) -> None:
        payload = {"body": BODY.format(n=n, c=0), "author_name": "Reader 0", "author_email": "r0@example.com",
                   "format": format}
        request = factory.post(f"/api/threads/{key}/comments", json.dumps(payload), content_type="application/json",
                               HTTP_ORIGIN="http://testserver")
        response = handler.get_response(request)
        if response.status_code != 201:
            raise SystemExit(f"post answered {response.status_code}: {response.content[:300]!r}")
        factory.cookies.update(response.cookies)  # one guest, as post.py's clients are

    return post


def _handler_poster(format: str):
    from threadlog.commands import Actor, PostComment, handle

    actor = Actor("guest:post-cpu")

    def post(key: str, n: int) -> None:
        handle(PostComment(thread=key, body=BODY.format(n=n, c=0), author_name="Reader 0",
                           author_email="r0@example.com", format=format), actor)

    return post


if __name__ == "__main__":
    main()
