from django.contrib import admin
from django.urls import path, re_path

from threadlog.api.views import api
from threadlog.api.asyncapi import asyncapi_json
from threadlog import audit_views, pages
from threadlog.moderation import api as moderation_api, pages as moderation_pages
from threadlog.readers import pages as readers
from threadlog.ops import views as ops_views
from threadlog.security import csp
from threadlog.staff import session

api.add_router("/session", session.router)
api.add_router("", moderation_api.router)
from threadlog.imports import admin_views as import_admin
from threadlog.notifications import urls as notification_urls  # also adds its API router

urlpatterns = [
    path("api/asyncapi.json", asyncapi_json, name="asyncapi"),  # the WebSocket protocol (AsyncAPI 3)
    path("api/", api.urls),  # first: the requests that come most often are resolved with the fewest tries
    path("", pages.article, name="article"),
    path("t/<str:key>", pages.thread_page, name="thread"),
    path("embed.js", pages.embed_js, name="embed"),
    path("t/<str:key>/feed.atom", readers.thread_feed_view, name="thread-feed"),
    path("feed.atom", readers.site_feed_view, name="site-feed"),
    path("count.js", readers.count_js, name="count"),
    re_path(r"^avatars/(?P<name>[^/]+)\.svg$", readers.avatar, name="avatar"),
    re_path(r"^static/(?P<path>.+)$", pages.static_file, name="static"),
    path("healthz", pages.healthz, name="healthz"),
    path("readyz", ops_views.readyz, name="readyz"),
    path("metrics", ops_views.metrics, name="metrics"),
    path("csp-report", csp.report, name="csp-report"),
    path("audit/", audit_views.audit_log, name="audit-log"),
    path("audit/comment/<str:comment_id>", audit_views.audit_comment, name="audit-comment"),
    path("audit/thread/<str:key>", audit_views.audit_thread, name="audit-thread"),
    path("admin/import-comments/", import_admin.import_comments, name="import-comments"),  # before admin/
    path("audit/actor/<str:actor>", audit_views.audit_actor, name="audit-actor"),
    path("audit/chain", audit_views.audit_chain, name="audit-chain"),
    path("admin/", admin.site.urls),
    path("moderation", moderation_pages.queue_page, name="moderation"),
    *notification_urls.urlpatterns,
]
