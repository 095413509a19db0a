"""The user docs (README.md, docs/*.md): relative links reach a file, links into these docs reach a
heading, and the README's command table lists every management command of the project."""

import re

from missionops.testing import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def github_anchor(heading: str) -> str:
    """The fragment GitHub gives a Markdown heading: lowercase, punctuation dropped, spaces to '-'."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path) -> set[str]:
    return {github_anchor(h) for h in re.findall(r"^#+\s+(.+?)\s*$", path.read_text(), re.M)}


def relative_links():
    for doc in DOCS:
        for link in LINK.findall(doc.read_text()):
            if not re.match(r"[a-z]+:", link):
                path, _, fragment = link.partition("#")
                yield doc, link, (doc.parent / path).resolve() if path else doc, fragment


def test_relative_links_reach_a_file():
    broken = [f"{doc.name}: {link}" for doc, link, target, _ in relative_links() if not target.exists()]
    assert broken == []


def test_links_into_the_docs_reach_a_heading():
    # bench/README.md is rewritten with each benchmark run: its anchors are not checked here.
    ours = {path.resolve() for path in DOCS}
    broken = [
        f"{doc.name}: {link}"
        for doc, link, target, fragment in relative_links()
        if fragment and target.resolve() in ours and fragment not in anchors(target)
    ]
    assert broken == []


def test_readme_lists_every_management_command():
    table = (ROOT / "README.md").read_text().split("## Management commands", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"(?:^\| |· )`(\w+)", table, re.M))
    commands = {
        path.stem
        for path in ROOT.glob("*/management/commands/*.py")
        if path.stem != "__init__" and ".venv" not in path.parts
    }
    assert sorted(commands - listed) == []
