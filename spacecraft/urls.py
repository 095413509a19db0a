from django.urls import path

from . import views, views_documents, views_operations

app_name = "spacecraft"
urlpatterns = [
    path("fleet/", views.fleet, name="fleet"),
    path("spacecraft/<uuid:pk>/", views.spacecraft_detail, name="detail"),
    path("spacecraft/<uuid:pk>/commands/", views.queue_command, name="queue-command"),
    path("commands/<int:command_id>/approve/", views.command_action, {"verb": "approve"}, name="approve-command"),
    path("commands/<int:command_id>/cancel/", views.command_action, {"verb": "cancel"}, name="cancel-command"),
    path("spacecraft/<uuid:pk>/mode/", views_operations.change_mode, name="change-mode"),
    path("spacecraft/<uuid:pk>/config/", views_operations.edit_config, name="edit-config"),
    path("documents/", views_documents.document_list, name="documents"),
    path("documents/new/", views_documents.document_edit, name="document-new"),
    path("documents/<int:pk>/", views_documents.document_detail, name="document"),
    path("documents/<int:pk>/edit/", views_documents.document_edit, name="document-edit"),
    path("documents/<int:pk>/publish/", views_documents.document_publish, name="document-publish"),
    path("documents/<int:pk>/attach/", views_documents.document_attach, name="document-attach"),
    path("documents/<int:pk>/attachments/<int:attachment_id>/", views_documents.attachment_download, name="attachment"),
]
