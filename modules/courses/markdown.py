"""Lesson markdown → HTML: CommonMark with tables, footnotes and callouts; raw HTML off."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import escape
from typing import Any

import markdown_it
import mdit_py_plugins
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from mdit_py_plugins.container import container_plugin
from mdit_py_plugins.footnote import footnote_plugin

from app.i18n import tr

# Raise when rendering changes (link rewriting, escaping, plugins): stored versions are keyed by
# content *and* renderer, so every course is re-rendered on the next sync.
RENDERER_VERSION = 3  # 3: quiz kinds, minutes and action plans (issue 15)
RENDER_SIGNATURE = (
    f"renderer {RENDERER_VERSION}; markdown-it-py {markdown_it.__version__}; "
    f"mdit-py-plugins {mdit_py_plugins.__version__}"
).encode()

# Callout kinds and the title shown when the author gives none (content is Indonesian-first).
CALLOUT_KINDS: dict[str, str] = {
    "note": "Catatan",
    "tip": "Tips",
    "warning": "Perhatian",
    "important": "Penting",
    "case": "Studi kasus",
    "reflection": "Refleksi",
}
OPEN_CALLOUT = re.compile(r"^\s{0,3}:::\s*(\S*)(.*)$")
FENCE = re.compile(r"^\s{0,3}(```|~~~)")

# Resolves a link target found at a body line; returns the URL to render, or None when broken.
Resolver = Callable[[str, int, bool], str | None]


def _callout_renderer(kind: str) -> Callable[..., str]:
    def render(self: Any, tokens: list, idx: int, _options: Any, _env: Any) -> str:
        token = tokens[idx]
        if token.nesting == 1:
            title = token.info.strip()[len(kind) :].strip() or CALLOUT_KINDS[kind]
            return (
                f'<div class="callout callout-{kind}" role="note">'
                f'<p class="callout-title">{escape(title)}</p>\n'
            )
        return "</div>\n"

    return render


def _rewrite_links(state: StateCore) -> None:
    """Send every link and image target through the resolver the caller put in env."""
    resolve: Resolver | None = state.env.get("resolve")
    if resolve is None:
        return
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        line = (block.map[0] if block.map else 0) + 1
        for child in block.children:
            if child.type in ("softbreak", "hardbreak"):
                line += 1  # a link on the third line of a paragraph is reported there
                continue
            attr = "href" if child.type == "link_open" else "src" if child.type == "image" else None
            if attr is None:
                continue
            target = str(child.attrGet(attr) or "")
            resolved = resolve(target, line, attr == "src")
            if resolved is not None:
                child.attrSet(attr, resolved)
            if attr == "href" and resolved and resolved.startswith(("http://", "https://")):
                child.attrSet("rel", "noopener noreferrer")
            if attr == "src":
                child.attrSet("loading", "lazy")
                no_alt = state.env.get("no_alt")
                if no_alt is not None and not child.content.strip():
                    no_alt(target, line)  # learners who cannot see it are told nothing


def make_renderer() -> MarkdownIt:
    """The one markdown configuration used for every course text."""
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable("table")
    md.use(footnote_plugin)
    for kind in CALLOUT_KINDS:
        md.use(
            container_plugin,
            name=kind,
            validate=lambda params, *_a, k=kind: params.strip().split(" ", 1)[0] == k,
            render=_callout_renderer(kind),
        )
    md.core.ruler.push("berakhlak_links", _rewrite_links)
    # Wide tables scroll inside their own focusable region instead of widening the page.
    md.add_render_rule("table_open", lambda *_a: '<div class="table-wrap" tabindex="0"><table>\n')
    md.add_render_rule("table_close", lambda *_a: "</table>\n</div>\n")
    return md


def callout_problems(body: str) -> list[tuple[int, str]]:
    """Unknown callout kinds and unclosed callouts, as (body line, message)."""
    problems: list[tuple[int, str]] = []
    open_lines: list[tuple[int, bool]] = []  # (line, known kind)
    in_fence = False
    for number, text in enumerate(body.splitlines(), start=1):
        if FENCE.match(text):
            in_fence = not in_fence
            continue
        match = OPEN_CALLOUT.match(text)
        if in_fence or not match:
            continue
        kind = match.group(1)
        if kind == "" and match.group(2).strip() == "":
            if open_lines:
                open_lines.pop()
            else:
                problems.append((number, tr("':::' closes a callout that was never opened")))
        elif kind in CALLOUT_KINDS:
            open_lines.append((number, True))
        else:
            allowed = ", ".join(CALLOUT_KINDS)
            problems.append(
                (
                    number,
                    tr(
                        "unknown callout kind '{kind}' (use one of: {allowed})",
                        kind=kind,
                        allowed=allowed,
                    ),
                )
            )
            open_lines.append((number, False))
    problems.extend(
        (n, tr("callout is never closed with ':::'")) for n, known in open_lines if known
    )
    return problems
