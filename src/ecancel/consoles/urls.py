from django.urls import path

from ecancel.consoles import views
from ecancel.consoles.buyer import home as buyer_home

app_name = "consoles"

urlpatterns = [
    path("", views.home_view, name="home"),
    path("login/", views.login_view, name="login"),
    path("login/verify/", views.login_verify_view, name="login_verify"),
    path("login/enrol/", views.login_enrol_view, name="login_enrol"),
    path("buyer/", buyer_home.entry_view, name="buyer_entry"),
    path("logout/", views.logout_view, name="logout"),
    path("account/password/", views.password_change_view, name="password_change"),
]
