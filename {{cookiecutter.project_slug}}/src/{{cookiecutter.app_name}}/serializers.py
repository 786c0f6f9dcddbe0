from rest_framework import serializers

from .models import Todo


class TodoSerializer(serializers.HyperlinkedModelSerializer):
    """A todo as the Todo-Backend spec shows it: the id only appears in its url."""

    class Meta:
        model = Todo
        fields = ("url", "title", "completed", "order")
