"""Moderation: holding comments for review, moderators' decisions, reports, bans, closed and premoderated threads.

rules.py decides (hold reasons, bans, duplicates) for the command handlers; commands.py holds the moderation
commands and their handlers (registered with threadlog.commands); api.py the HTTP endpoints; pages.py the
moderator's page. docs/moderation.md explains the states and the rules.
"""
