from django.contrib import admin
from django.urls import path

from threadlog.api.views import api
from threadlog import pages

urlpatterns = [
    path("", pages.article, name="article"),
    path("t/<str:key>", pages.thread_page, name="thread"),
    path("embed.js", pages.embed_js, name="embed"),
    path("healthz", pages.healthz, name="healthz"),
    path("api/", api.urls),
    path("admin/", admin.site.urls),
]
