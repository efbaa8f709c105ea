"""The pages links in messages open. (The API router is added to threadlog's API when views is imported.)"""
from django.urls import path

from . import views

urlpatterns = [
    path("subscriptions/confirm/<str:token>", views.confirm, name="subscription-confirm"),
    path("subscriptions/unsubscribe/<str:token>", views.unsubscribe, name="subscription-unsubscribe"),
    path("session/email/<str:token>", views.sign_in, name="session-email"),
]
