from django.urls import path

from demo.host import host_page

app_name = "demo"

urlpatterns = [path("host/", host_page, name="host")]
