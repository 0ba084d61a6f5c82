from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, reverse_lazy

from csat_project.signin import SigninForm, two_factor, two_factor_remove
from csat_project.views import healthz, home
from mail.webhooks import inbound_webhook

admin.site.site_header = "csat — conversation ratings"
admin.site.site_title = "csat"
admin.site.index_title = "Inbox and settings"
admin.site.site_url = reverse_lazy("home")  # "View site": each role's way in

urlpatterns = [
    # Exactly "/": the rating pages below are mounted at the root as well.
    path("", home, name="home"),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path(
        "accounts/login/",
        # K7, K8: the sign-in's form (a code for those with two-factor sign-in on).
        auth_views.LoginView.as_view(
            redirect_authenticated_user=True, authentication_form=SigninForm
        ),
        name="login",
    ),
    # K8: a staff user's own second factor.
    path("accounts/two-factor/", two_factor, name="two_factor"),
    path("accounts/two-factor/remove/", two_factor_remove, name="two_factor_remove"),
    path("accounts/logout/", auth_views.LogoutView.as_view(next_page="login"), name="logout"),
    path("reports/", include("reports.urls")),
    path("api/", include("api.urls")),
    # M16: the inbound webhook of the email provider INBOUND_ESP names (mailgun's raw MIME
    # variant at /inbound/mailgun/mime/).
    path("inbound/<slug:esp>/", inbound_webhook, name="inbound-webhook"),
    path("inbound/<slug:esp>/<slug:variant>/", inbound_webhook, name="inbound-webhook-variant"),
    path("messenger/", include("messenger.urls")),
    path("demo/", include("demo.urls")),
    path("", include("ratings.urls")),
]
