from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.response import Response

from .models import Todo
from .serializers import TodoSerializer


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
