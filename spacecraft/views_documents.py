"""Document pages: browse and search, read, write, publish, attach."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from missionops.exceptions import DomainError
from missionops.models import OPERATING_ROLES, Membership

from . import selectors, services
from .forms import DocumentForm, SearchForm


def _editable(request, pk):
    document = get_object_or_404(services.documents_visible_to(request.user), pk=pk)
    if not Membership.objects.filter(
        user=request.user, organization=document.organization, role__in=OPERATING_ROLES
    ).exists():
        raise PermissionDenied("you need the operator or admin role to change documents")
    return document


@login_required
def document_list(request):
    form = SearchForm(request.GET or None, spacecraft_choices=selectors.spacecraft_visible_to(request.user))
    filters = form.cleaned_data if form.is_valid() else {}
    spacecraft = filters.get("spacecraft")
    results = services.search_documents(
        request.user,
        q=filters.get("q", ""),
        category=filters.get("category", ""),
        spacecraft=spacecraft.pk if spacecraft else None,
    )[:100]
    rows = [(doc, services.snippet_html(getattr(doc, "snippet", ""))) for doc in results]
    return render(request, "spacecraft/documents.html", {"form": form, "rows": rows, "area": "documents"})


@login_required
def document_detail(request, pk):
    document = get_object_or_404(services.documents_visible_to(request.user), pk=pk)
    can_edit = Membership.objects.filter(
        user=request.user, organization=document.organization, role__in=OPERATING_ROLES
    ).exists()
    return render(
        request,
        "spacecraft/document.html",
        {
            "doc": document,
            "html": services.render_markdown(document.body),
            "area": "documents",
            "versions": document.versions.select_related("created_by").order_by("-version"),
            "attachments": document.attachments.all(),
            "can_edit": can_edit,
        },
    )


class AttachmentRefused(Exception):
    """An attachment the documents service refused: rolls back the document saved with it."""


@login_required
def document_edit(request, pk=None):
    document = _editable(request, pk) if pk else None
    choices = selectors.spacecraft_visible_to(request.user)
    initial = (
        {
            "title": document.title,
            "category": document.category,
            "spacecraft": document.spacecraft,
            "body": document.body,
        }
        if document
        else {}
    )
    form = DocumentForm(request.POST or None, request.FILES or None, initial=initial, spacecraft_choices=choices)
    if request.method == "POST" and form.is_valid():
        fields = {k: v for k, v in form.cleaned_data.items() if k != "attachment"}
        upload = form.cleaned_data.get("attachment")
        try:
            # One transaction: a refused attachment leaves no new document or version behind.
            with transaction.atomic():
                if document:
                    document = services.edit_document(document=document, actor=request.user, **fields)
                else:
                    membership = Membership.objects.filter(user=request.user, role__in=OPERATING_ROLES).select_related(
                        "organization"
                    )
                    sc = fields["spacecraft"]
                    organization = sc.organization if sc else (membership.first().organization if membership else None)
                    if organization is None or not membership.filter(organization=organization).exists():
                        raise PermissionDenied("you need the operator or admin role to write documents")
                    document = services.create_document(organization=organization, actor=request.user, **fields)
                if upload is not None:
                    try:
                        services.attach_file(document=document, upload=upload, actor=request.user)
                    except DomainError as error:
                        raise AttachmentRefused(error.message) from error
            messages.success(request, f"saved version {document.version}" + (f" with {upload.name}" if upload else ""))
            return redirect("spacecraft:document", pk=document.pk)
        except AttachmentRefused as refused:
            form.add_error("attachment", str(refused))
            document = _editable(request, pk) if pk else None
        except DomainError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
    return render(request, "spacecraft/document_form.html", {"form": form, "doc": document, "area": "documents"})


@login_required
@require_POST
def document_publish(request, pk):
    try:
        document = services.publish_document(document=_editable(request, pk), actor=request.user)
        messages.success(request, f"version {document.version} published")
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("spacecraft:document", pk=pk)


@login_required
@require_POST
def document_attach(request, pk):
    document = _editable(request, pk)
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, "file: choose a file to attach")
    else:
        try:
            services.attach_file(document=document, upload=upload, actor=request.user)
            messages.success(request, f"attached {upload.name}")
        except DomainError as error:
            messages.error(request, error.message)
    return redirect("spacecraft:document", pk=pk)


@login_required
def attachment_download(request, pk, attachment_id):
    from django.http import FileResponse

    document = get_object_or_404(services.documents_visible_to(request.user), pk=pk)
    attachment = get_object_or_404(document.attachments, pk=attachment_id)
    return FileResponse(attachment.file.open("rb"), as_attachment=True, filename=attachment.name)
