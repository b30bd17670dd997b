from django.urls import path

from payments import webhook_views

urlpatterns = [
    path("stripe/", webhook_views.stripe_webhook, name="payments_stripe_webhook"),
]
