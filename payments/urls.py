from django.urls import path

from payments import views

app_name = "payments"
urlpatterns = [
    path("<str:reference>/", views.pay, name="pay"),
    path("<str:reference>/confirm/", views.confirm, name="confirm"),
    path("<str:reference>/return/", views.payment_return, name="return"),
]
