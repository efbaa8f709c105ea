"""The append-only event log: event types, the store, replay and audit. Knows no read model, web or socket."""
