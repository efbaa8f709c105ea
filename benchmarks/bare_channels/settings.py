"""Minimal Django settings for the bare Channels baseline (no database, no apps beyond what Channels needs)."""
SECRET_KEY = "bare-channels-benchmark"
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS: list[str] = []
DATABASES: dict = {}
USE_TZ = True
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
