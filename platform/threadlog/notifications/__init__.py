"""Subscriptions and e-mail notifications: the notifier projection, its outbox, the sender, mail, pages and API.

docs/notifications.md tells the whole story; in short: command handlers append Subscription* events and apply them
to the subscription tables in the same transaction (subscriptions.py); the notifier (notifier.py) reads the log from its own checkpoint and writes outbox rows in the same transaction as that
checkpoint; the sender (sender.py) hands the rows to SMTP and marks each one sent.
"""
