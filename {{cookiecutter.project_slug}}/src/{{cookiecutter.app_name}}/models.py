from django.db import models


class Todo(models.Model):
    title = models.CharField(max_length=255)
    completed = models.BooleanField(default=False)
    # Clients sort by this position; todos created without one have none.
    order = models.IntegerField(null=True, blank=True)

    class Meta:
        ordering = ("id",)

    def __str__(self):
        return self.title
