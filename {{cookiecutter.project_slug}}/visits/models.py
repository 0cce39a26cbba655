from django.db import models


class Visit(models.Model):
    """One request to the home page."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    path = models.CharField(max_length=200)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.path} at {self.created_at:%Y-%m-%d %H:%M:%S}"
