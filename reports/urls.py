from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("", views.summary, name="summary"),
    path("target/", views.target_set, name="target_set"),
    path("teammates/", views.teammates, name="teammates"),
    path("teammates.csv", views.teammates_csv, name="teammates_csv"),
    path("comments/", views.comments, name="comments"),
    path("comments.csv", views.comments_csv, name="comments_csv"),
    path("comments/<int:rating_id>/follow-up/", views.follow_up, name="follow_up"),
    path("achievements/", views.achievements, name="achievements"),
]
