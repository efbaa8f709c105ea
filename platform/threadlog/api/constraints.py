"""What the API document says request strings may hold (threadlog.api.openapi; the models use NOT_BLANK).
Plain constants: importable without Django.

Every string in a request body refuses NUL (PostgreSQL cannot store it) and lone surrogates (not Unicode text,
RFC 7493 — the document says so in words: a pattern naming them is no regex to Rust's engine, which
jsonschema-rs uses, and a positive range up to U+10FFFF makes generators crawl). The patterns are written so
that Python's re, ECMA-262 engines and Rust's regex all read them the same way: character classes only, no \\s
(whose meaning differs between engines).
"""

TEXT = r"^[^\x00]*$"
TEXT_NOTE = "No NUL characters and no lone surrogates (RFC 7493)."
# Not blank: at least one character that Python's str.strip() keeps (its whitespace, listed).
_WHITESPACE = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NOT_BLANK = rf"^[^\x00]*[^\x00{_WHITESPACE}][^\x00]*$"
THREAD_KEY = r"^[A-Za-z0-9._~-]{1,200}$"
IDEMPOTENCY_KEY = r"^[\x21-\x7e]{1,200}$"
UUID = {"type": "string", "format": "uuid",
        "pattern": r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"}
