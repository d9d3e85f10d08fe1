from django.urls import path

from ecancel.documents import views
from ecancel.documents.pki import views as pki_views

app_name = "documents"

urlpatterns = [
    path("", views.verify, name="verify"),
]

# Mounted at /pki/: where the local CA's certificates say their revocation list is.
pki_urlpatterns = [
    path("<slug:name>.crl", pki_views.crl, name="crl"),
]
