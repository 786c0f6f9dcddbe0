"""Liveness and readiness, for the image's HEALTHCHECK and any platform's probes.

GET /health answers as soon as the process serves requests. GET /ready answers 200 only when the
database answers a query with the app's credentials and every migration is applied, else 503 with
the reason: a task that is not ready would answer 500 to every API request.
"""

import logging

from django.db import DEFAULT_DB_ALIAS, Error, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpResponse, JsonResponse

# Migrations are never unapplied under a running release: once seen applied, this process only
# checks that the database answers (SELECT 1), not the migration graph on every probe.
migrations_applied = False
logger = logging.getLogger(__name__)


def health(request):
    """Answers as long as the process serves requests."""
    return HttpResponse("ok", content_type="text/plain")


def ready(request):
    global migrations_applied
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        if not migrations_applied:
            executor = MigrationExecutor(connection)
            plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
            if plan:
                unapplied = ", ".join(str(migration) for migration, _ in plan)
                return not_ready(f"migrations are not applied: {unapplied}")
            migrations_applied = True
    except Error as error:
        # The error's text names hosts and users: it goes to the log, only its code to clients.
        logger.warning("Not ready: the database does not answer: %s", error)
        code = error.args[0] if error.args and isinstance(error.args[0], int) else None
        return not_ready("the database does not answer" + (f" (error {code})" if code else ""))
    return JsonResponse({"status": "ready"})


def not_ready(reason):
    return JsonResponse({"status": "not ready", "reason": reason}, status=503)
