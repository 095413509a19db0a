"""Operational documents: versioned edits, publishing, safe markdown, full-text search."""

import nh3
from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank, SearchVector
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils.html import escape
from markdown_it import MarkdownIt

from missionops.exceptions import ConflictError, DomainError
from missionops.services import record_event
from missionops.tenancy import organizations_for, user_or_none

from ..models import Document, DocumentAttachment, DocumentCategory, DocumentState, DocumentVersion, Spacecraft

MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
# Raw HTML in markdown is escaped by the parser; nh3 then strips anything unsafe left over
# (javascript: links, event handlers) as a second line of defence.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
SEARCH_CONFIG = "english"


# Snippets are highlighted with control characters, then HTML-escaped, then marked up: a
# document body can never inject markup through its search snippet.
MARK_START, MARK_STOP = "\x02", "\x03"


def snippet_html(snippet: str) -> str:
    """A search snippet as HTML: escaped, with the match marks as <mark>."""
    return escape(snippet or "").replace(MARK_START, "<mark>").replace(MARK_STOP, "</mark>")


def render_markdown(body: str) -> str:
    """A document body as sanitized HTML (nh3: no script, links rel=noopener)."""
    return nh3.clean(_markdown.render(body or ""), link_rel="noopener noreferrer")


def _refresh_search_vector(document: Document) -> None:
    Document.objects.filter(pk=document.pk).update(
        search_vector=SearchVector("title", weight="A", config=SEARCH_CONFIG)
        + SearchVector("body", weight="B", config=SEARCH_CONFIG)
    )


def _check(organization, *, title: str, category: str, spacecraft: Spacecraft | None) -> None:
    if not title or not title.strip():
        raise DomainError("a document needs a title", field="title")
    if category not in DocumentCategory.values:
        raise DomainError(f"category must be one of {', '.join(DocumentCategory.values)}", field="category")
    if spacecraft is not None and spacecraft.organization_id != organization.pk:
        raise DomainError("spacecraft belongs to another organization", field="spacecraft")


@transaction.atomic
def create_document(
    *, organization, title: str, category: str, body: str = "", spacecraft: Spacecraft | None = None, actor=None
) -> Document:
    """A new draft, version 1, searchable at once."""
    _check(organization, title=title, category=category, spacecraft=spacecraft)
    document = Document.objects.create(
        organization=organization,
        title=title.strip(),
        category=category,
        body=body,
        spacecraft=spacecraft,
        created_by=user_or_none(actor),
    )
    DocumentVersion.objects.create(
        document=document, version=1, title=document.title, body=body, created_by=document.created_by
    )
    _refresh_search_vector(document)
    record_event(
        organization=organization,
        kind="document.created",
        subject=document,
        actor=actor,
        spacecraft_id=spacecraft.pk if spacecraft else None,
        payload={"category": category},
    )
    return document


@transaction.atomic
def edit_document(*, document: Document, actor=None, **changes) -> Document:
    """Change title/body/category/spacecraft. Each edit keeps a new version; a published
    document goes back to draft until published again (its last published version stays)."""
    document = Document.objects.select_for_update().get(pk=document.pk)
    for name in ("title", "body", "category", "spacecraft"):
        if name in changes:
            setattr(document, name, changes[name])
    _check(document.organization, title=document.title, category=document.category, spacecraft=document.spacecraft)
    latest = document.versions.order_by("-version").first()
    if latest and (latest.title, latest.body) == (document.title, document.body) and set(changes) <= {"title", "body"}:
        raise ConflictError("nothing changed", field="body")
    document.version = F("version") + 1
    document.state = DocumentState.DRAFT
    document.save()
    document.refresh_from_db()
    DocumentVersion.objects.create(
        document=document,
        version=document.version,
        title=document.title,
        body=document.body,
        created_by=user_or_none(actor),
    )
    _refresh_search_vector(document)
    record_event(
        organization=document.organization,
        kind="document.edited",
        subject=document,
        actor=actor,
        payload={"version": document.version},
    )
    return document


@transaction.atomic
def publish_document(*, document: Document, actor=None) -> Document:
    """Publish the document's current version (once; a published version raises ConflictError)."""
    document = Document.objects.select_for_update().get(pk=document.pk)
    if document.state == DocumentState.PUBLISHED:
        raise ConflictError(f"version {document.version} is already published", field="state")
    document.state, document.published_version = DocumentState.PUBLISHED, document.version
    document.save(update_fields=["state", "published_version", "updated_at"])
    DocumentVersion.objects.filter(document=document, version=document.version).update(published=True)
    record_event(
        organization=document.organization,
        kind="document.published",
        subject=document,
        actor=actor,
        spacecraft_id=document.spacecraft_id,
        payload={"version": document.version, "title": document.title},
    )
    return document


@transaction.atomic
def attach_file(*, document: Document, upload, actor=None) -> DocumentAttachment:
    """Attach an uploaded file to a document (size-limited), announced in the event log."""
    if upload.size > MAX_ATTACHMENT_BYTES:
        raise DomainError(f"attachments are limited to {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MiB", field="file")
    attachment = DocumentAttachment.objects.create(
        document=document,
        file=upload,
        name=upload.name[:200],
        size_bytes=upload.size,
        content_type=getattr(upload, "content_type", "") or "",
        uploaded_by=user_or_none(actor),
    )
    record_event(
        organization=document.organization,
        kind="document.attachment_added",
        subject=document,
        actor=actor,
        payload={"name": attachment.name, "size_bytes": attachment.size_bytes},
    )
    return attachment


def documents_visible_to(user) -> QuerySet[Document]:
    """Documents of the organizations `user` belongs to."""
    return Document.objects.filter(organization__in=organizations_for(user)).select_related(
        "spacecraft", "organization"
    )


def search_documents(user, *, q: str = "", category: str = "", spacecraft=None, state: str = "") -> QuerySet[Document]:
    """Ranked full-text search (title weighs more than body) with highlighted snippets."""
    documents = documents_visible_to(user)
    if category:
        documents = documents.filter(category=category)
    if spacecraft:
        documents = documents.filter(spacecraft_id=spacecraft)
    if state:
        documents = documents.filter(state=state)
    if not q.strip():
        return documents.order_by("-updated_at")
    query = SearchQuery(q, search_type="websearch", config=SEARCH_CONFIG)
    return (
        documents.filter(search_vector=query)
        .annotate(
            rank=SearchRank(F("search_vector"), query),
            snippet=SearchHeadline(
                "body",
                query,
                config=SEARCH_CONFIG,
                start_sel=MARK_START,
                stop_sel=MARK_STOP,
                max_words=30,
                min_words=10,
            ),
        )
        .order_by("-rank", "-updated_at")
    )
