"""What only a running release shows: how it serves, not what it computes."""

import re

from service import BASE_URL, COLLECTION

A_YEAR = 365 * 24 * 3600


def test_static_files_are_served_compressed_and_cacheable_for_ever(http):
    page = http.get(COLLECTION, headers={"Accept": "text/html"})
    assert page.status_code == 200
    # The browsable API links its assets under their content-hashed names.
    stylesheet = re.search(r'href="(/static/[^"]+\.[0-9a-f]{12}\.css)"', page.text)
    assert stylesheet, "no content-hashed stylesheet in the browsable API page"

    response = http.get(f"{BASE_URL}{stylesheet.group(1)}", headers={"Accept-Encoding": "gzip"})

    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    cache_control = response.headers["Cache-Control"]
    assert "immutable" in cache_control
    assert int(re.search(r"max-age=(\d+)", cache_control).group(1)) >= A_YEAR


def test_debug_is_off_so_a_404_page_leaks_nothing(http):
    response = http.get(f"{BASE_URL}/no-such-page", headers={"Accept": "text/html"})

    assert response.status_code == 404
    for leak in ("DEBUG", "Traceback", "urlpatterns", "SECRET_KEY", "settings"):
        assert leak not in response.text


def test_a_request_for_another_host_is_refused(http):
    response = http.get(COLLECTION, headers={"Host": "attacker.example.com"})

    assert response.status_code == 400
    assert "detail" in response.json()


def test_errors_are_answered_in_json(http):
    for path, status in [("/todos/abc", 404), ("/no-such-page", 404), ("/todos/123456789", 404)]:
        response = http.get(f"{BASE_URL}{path}")
        assert (response.status_code, "detail" in response.json()) == (status, True), path
    too_big = http.post(
        COLLECTION, data=b"x" * (3 * 1024 * 1024), headers={"Content-Type": "application/json"}
    )
    assert too_big.status_code == 413 and "detail" in too_big.json()


def test_security_headers_are_set(http):
    headers = http.get(COLLECTION).headers

    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"


def test_the_health_and_ready_endpoints_answer(http):
    response = http.get(f"{BASE_URL}/health")
    ready = http.get(f"{BASE_URL}/ready")

    assert response.status_code == 200
    assert response.text == "ok"
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
