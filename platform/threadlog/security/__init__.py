"""Defences of the public site (docs/security.md): trusted proxies, host validation, HEAD, CSP, sign-in throttling,
shared rate-limit windows and the deployment check. A Django app (label `threadlog_security`) for its one model,
the record of sign-in lock-outs staff see in the admin."""
