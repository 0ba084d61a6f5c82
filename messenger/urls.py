from django.urls import path

from messenger import views

app_name = "messenger"

urlpatterns = [
    path("widget.js", views.widget_js, name="widget"),
    path("frame/", views.frame, name="frame"),
    path("w/session/", views.session, name="session"),
    path("w/threads/", views.threads, name="threads"),
    path("w/conversations/", views.start, name="start"),
    path("w/conversations/<int:pk>/reply/", views.reply, name="reply"),
    path("w/me/", views.me, name="me"),
    path("<str:token>/", views.link, name="link"),
]
