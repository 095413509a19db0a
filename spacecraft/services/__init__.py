"""The only code that writes spacecraft, by concept: the fleet (registry, live state with mode
rules, versioned configuration, constellations), the command queue and the operational documents.
Other apps import from here: `from spacecraft import services`."""

from .commands import (
    CommandStateError,
    approve_command,
    cancel_command,
    create_command,
    execute_on_runtime,
    expire_unacknowledged,
    in_contact,
    release_at_contact,
    release_command,
    transmit,
)
from .documents import (
    attach_file,
    create_document,
    documents_visible_to,
    edit_document,
    publish_document,
    render_markdown,
    search_documents,
    snippet_html,
)
from .fleet import (
    REGISTRY_FIELDS,
    change_config,
    create_constellation,
    create_spacecraft,
    delete_constellation,
    delete_spacecraft,
    update_constellation,
    update_spacecraft,
    update_state,
)

__all__ = [
    "REGISTRY_FIELDS",
    "CommandStateError",
    "approve_command",
    "attach_file",
    "cancel_command",
    "change_config",
    "create_command",
    "create_constellation",
    "create_document",
    "create_spacecraft",
    "delete_constellation",
    "delete_spacecraft",
    "documents_visible_to",
    "edit_document",
    "execute_on_runtime",
    "expire_unacknowledged",
    "in_contact",
    "publish_document",
    "release_at_contact",
    "release_command",
    "render_markdown",
    "search_documents",
    "snippet_html",
    "transmit",
    "update_constellation",
    "update_spacecraft",
    "update_state",
]
