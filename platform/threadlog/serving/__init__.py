"""Where a request's work runs: threads for quick reads, one thread for writes, processes for expensive reads.

docs/architecture.md, "HTTP requests", says why; `threadlog.asgi` hands each request to `pools`, and views hand
their expensive part (time travel, audit pages) to `expensive.offload`.
"""
