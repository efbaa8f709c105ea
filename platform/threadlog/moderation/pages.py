"""The moderator's page, `/moderation`: staff only; anyone else is sent to sign in and comes back here."""
from __future__ import annotations

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET


@require_GET
def queue_page(request: HttpRequest) -> HttpResponse:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_staff:
        return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
    return render(request, "threadlog/moderation.html", {"thread_title": "Moderation", "user_name": user.get_username(),
                                                         "thread_filter": request.GET.get("thread", "")})
