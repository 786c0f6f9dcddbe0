"""GET /health and GET /ready, which the release image's HEALTHCHECK asks: ready only when the
database answers and every migration is applied."""

import pytest
from django.db import OperationalError, connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

from {{ cookiecutter.project_slug }} import health

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def migrations_not_yet_seen(monkeypatch):
    """Each test starts as a fresh process does: it has not yet seen the migrations applied."""
    monkeypatch.setattr(health, "migrations_applied", False)


def test_health_answers_while_the_process_serves(api_client):
    response = api_client.get("/health")

    assert response.status_code == 200


def test_ready_when_the_database_answers_and_every_migration_is_applied(api_client):
    response = api_client.get("/ready")

    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_not_ready_while_a_migration_is_unapplied_and_it_is_named(api_client):
    # The app's latest migration, as a release that has not yet migrated lacks it.
    [(app, name)] = MigrationLoader(connection).graph.leaf_nodes("{{ cookiecutter.app_name }}")
    MigrationRecorder(connection).record_unapplied(app, name)

    response = api_client.get("/ready")

    assert response.status_code == 503
    assert response.json()["status"] == "not ready"
    assert f"{app}.{name}" in response.json()["reason"]


def test_not_ready_while_the_database_does_not_answer_and_its_error_is_logged(
    api_client, monkeypatch, caplog
):
    def refused(*args, **kwargs):
        raise OperationalError(2003, "Can't connect to MySQL server on 'db' (111)")

    monkeypatch.setattr(connection, "cursor", refused)

    response = api_client.get("/ready")

    assert response.status_code == 503
    assert response.json()["reason"] == "the database does not answer (error 2003)"
    assert "Can't connect to MySQL server on 'db'" in caplog.text


def test_once_ready_a_probe_costs_one_query(api_client, django_assert_num_queries):
    assert api_client.get("/ready").status_code == 200

    with django_assert_num_queries(1):
        assert api_client.get("/ready").status_code == 200
