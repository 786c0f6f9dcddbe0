"""Errors Django answers itself, outside the API's views, in JSON like the API's own: an unknown
path or malformed id (404), a bad or oversized request (400, 413), a wrong Host (400) and a
server error (500, with no detail). The views' errors are DRF's: {"detail": "..."} too."""

from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse


def bad_request(request, exception=None):
    if isinstance(exception, RequestDataTooBig):
        return JsonResponse({"detail": "Request body too large."}, status=413)
    return JsonResponse({"detail": "Bad request."}, status=400)


def permission_denied(request, exception=None):
    return JsonResponse({"detail": "Forbidden."}, status=403)


def page_not_found(request, exception=None):
    return JsonResponse({"detail": "Not found."}, status=404)


def server_error(request):
    return JsonResponse({"detail": "Server error."}, status=500)
