"""The API's OpenAPI schema and its docs page, as a client team and a browser fetch them."""

import re
from urllib.parse import urljoin, urlsplit

from openapi_spec_validator import validate
from service import BASE_URL


def test_the_schema_is_valid_openapi_and_describes_the_todos(http):
    response = http.get(f"{BASE_URL}/schema", headers={"Accept": "application/json"})

    assert response.status_code == 200
    schema = response.json()
    validate(schema)
    assert {"/todos", "/todos/{id}"} <= set(schema["paths"])
    assert "title" in schema["components"]["schemas"]["Todo"]["required"]


def test_the_docs_page_and_everything_it_loads_come_from_the_release(http):
    page = http.get(f"{BASE_URL}/docs")

    assert page.status_code == 200
    # Its stylesheet, scripts and icon; then the schema, which Swagger UI's script asks for.
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assets += re.findall(r'\burl: "([^"]+)"', page.text)
    assert len(assets) >= 4, page.text
    # No address of another host anywhere in the page: networks may have no public CDN.
    for url in [*re.findall(r"https?://[^\s\"'<>]+", page.text), *assets]:
        assert urlsplit(urljoin(page.url, url)).netloc == urlsplit(BASE_URL).netloc, url
    for asset in assets:
        response = http.get(urljoin(page.url, asset))
        assert response.status_code == 200, f"GET {asset} answered {response.status_code}"
