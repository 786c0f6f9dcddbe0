from rest_framework.routers import DefaultRouter, Route

from .views import TodoViewSet


class TodoRouter(DefaultRouter):
    """DRF's default router, plus DELETE on a collection to empty it."""

    routes = tuple(
        route._replace(mapping={**route.mapping, "delete": "destroy_all"})
        if isinstance(route, Route) and route.name == "{basename}-list"
        else route
        for route in DefaultRouter.routes
    )


# The spec's clients address the collection as /todos, with no trailing slash.
router = TodoRouter(trailing_slash=False)
router.register("todos", TodoViewSet)

urlpatterns = router.urls
