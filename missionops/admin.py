from django.contrib import admin

from . import services
from .models import Event, EventOutbox, Membership, Organization, Webhook, WebhookDelivery
from .services import webhooks


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "member_count", "created_at"]
    search_fields = ["name", "slug"]
    readonly_fields = ["created_at"]
    inlines = [MembershipInline]

    @admin.display(description="members")
    def member_count(self, obj):
        return obj.memberships.count()

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        # New organizations need their permission groups: go through the service.
        created = services.create_organization(name=obj.name, slug=obj.slug)
        obj.pk, obj.viewers_group, obj.operators_group = created.pk, created.viewers_group, created.operators_group
        obj._state.adding = False

    def save_formset(self, request, form, formset, change):
        # Memberships carry permission groups: every change goes through set_membership.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for deleted in formset.deleted_forms:
            if deleted.instance.pk:
                services.remove_membership(membership=deleted.instance, actor=request.user)
        for inline_form in formset.forms:
            if inline_form in formset.deleted_forms or not inline_form.has_changed():
                continue
            data = inline_form.cleaned_data
            services.set_membership(
                organization=form.instance, user=data["user"], role=data["role"], actor=request.user
            )


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role", "organization"]
    search_fields = ["user__username", "organization__name"]
    autocomplete_fields = ["user", "organization"]

    def save_model(self, request, obj, form, change):
        saved = services.set_membership(organization=obj.organization, user=obj.user, role=obj.role, actor=request.user)
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        services.remove_membership(membership=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for membership in queryset:
            services.remove_membership(membership=membership, actor=request.user)


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    """The event log is append-only: readable here, never editable."""

    list_display = ["created_at", "organization", "kind", "subject_repr", "actor_repr"]
    list_filter = ["organization", "kind"]
    search_fields = ["kind", "subject_repr", "actor_repr", "subject_id"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Event._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class WebhookDeliveryInline(admin.TabularInline):
    model = WebhookDelivery
    extra = 0
    fields = ["created_at", "event", "state", "attempts", "status_code", "latency_ms", "error"]
    readonly_fields = fields
    can_delete = False
    ordering = ["-created_at"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "url", "event_kinds", "is_active", "consecutive_failures", "created_at"]
    list_filter = ["organization", "is_active"]
    search_fields = ["name", "url"]
    readonly_fields = ["secret", "consecutive_failures", "disabled_reason", "created_by", "created_at"]
    inlines = [WebhookDeliveryInline]
    actions = ["send_test_delivery"]

    @admin.action(description="Send a test delivery")
    def send_test_delivery(self, request, queryset):
        for webhook in queryset:
            webhooks.send_test(webhook=webhook, actor=request.user)
        self.message_user(request, f"test delivery queued for {queryset.count()} webhook(s)")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "webhook", "event", "state", "attempts", "status_code", "latency_ms"]
    list_filter = ["state", "webhook__organization"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(EventOutbox)
class EventOutboxAdmin(admin.ModelAdmin):
    """Events on their way to the JetStream stream: pending rows are what the relay has yet to send."""

    list_display = ["id", "subject", "created_at", "published_at", "stream_sequence", "attempts", "last_error"]
    list_filter = [("published_at", admin.EmptyFieldListFilter)]
    search_fields = ["subject"]
    readonly_fields = [f.name for f in EventOutbox._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
