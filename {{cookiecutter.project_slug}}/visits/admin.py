from django.contrib import admin

from visits.models import Visit


@admin.register(Visit)
class VisitAdmin(admin.ModelAdmin):
    list_display = ["created_at", "path"]
    date_hierarchy = "created_at"
    search_fields = ["path"]
    readonly_fields = ["created_at", "path"]
