from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers, status, viewsets
from rest_framework.response import Response

from .models import Todo
from .serializers import TodoSerializer

# The errors a client should expect, in the schema: every error body is JSON.
ERROR = inline_serializer("Error", {"detail": serializers.CharField()})
NOT_FOUND = OpenApiResponse(ERROR, description="No todo has this id.")
INVALID = OpenApiResponse(
    description="The body is not JSON ({detail}) or not a valid todo (each field's errors)."
)


@extend_schema_view(
    create=extend_schema(responses={201: TodoSerializer, 400: INVALID}),
    retrieve=extend_schema(responses={200: TodoSerializer, 404: NOT_FOUND}),
    update=extend_schema(responses={200: TodoSerializer, 400: INVALID, 404: NOT_FOUND}),
    partial_update=extend_schema(responses={200: TodoSerializer, 400: INVALID, 404: NOT_FOUND}),
    destroy=extend_schema(responses={204: None, 404: NOT_FOUND}),
)
class TodoViewSet(viewsets.ModelViewSet):
    queryset = Todo.objects.all()
    serializer_class = TodoSerializer
    # Ids are integers; anything else is a 404 without a database query.
    lookup_value_regex = r"\d+"

    # Its own operation id: DELETE on one todo is already todos_destroy.
    @extend_schema(operation_id="todos_destroy_all", responses={204: None})
    def destroy_all(self, request, *args, **kwargs):
        """DELETE on the collection: the spec's way to start from an empty list."""
        self.get_queryset().delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
