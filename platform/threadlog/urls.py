from django.contrib import admin
from django.urls import path, re_path

from threadlog.api.views import api
from threadlog import audit_views, pages
from threadlog.ops import views as ops_views
from threadlog.security import csp

urlpatterns = [
    path("api/", api.urls),  # first: the requests that come most often are resolved with the fewest tries
    path("", pages.article, name="article"),
    path("t/<str:key>", pages.thread_page, name="thread"),
    path("embed.js", pages.embed_js, name="embed"),
    re_path(r"^static/(?P<path>.+)$", pages.static_file, name="static"),
    path("healthz", pages.healthz, name="healthz"),
    path("readyz", ops_views.readyz, name="readyz"),
    path("metrics", ops_views.metrics, name="metrics"),
    path("csp-report", csp.report, name="csp-report"),
    path("audit/", audit_views.audit_log, name="audit-log"),
    path("audit/comment/<str:comment_id>", audit_views.audit_comment, name="audit-comment"),
    path("audit/thread/<str:key>", audit_views.audit_thread, name="audit-thread"),
    path("audit/actor/<str:actor>", audit_views.audit_actor, name="audit-actor"),
    path("audit/chain", audit_views.audit_chain, name="audit-chain"),
    path("admin/", admin.site.urls),
]
