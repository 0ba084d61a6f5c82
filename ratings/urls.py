from django.urls import path

from ratings import views

app_name = "ratings"

urlpatterns = [
    path("rate/<str:token>/", views.rate, name="rate"),
    path("rate/<str:token>/comment/", views.rate_comment, name="rate_comment"),
    path("alerts/", views.alert_settings, name="alert_settings"),
    path("alerts/unsubscribe/<str:token>/", views.alert_unsubscribe, name="alert_unsubscribe"),
]
