"""Operations: Prometheus metrics, JSON logs, dependency health, health and readiness (docs/operations.md).

Each module is hooked into the rest of the code with one-line calls (`metrics.appended(...)`,
`dependency.REDIS.failed(...)`), so the request and write paths stay readable without it.
"""
