from django.conf import settings
from django.http import HttpRequest


def deployment(request: HttpRequest) -> dict[str, object]:
    return {"demo_mode": settings.ECANCEL_DEMO}
