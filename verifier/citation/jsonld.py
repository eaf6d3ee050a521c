"""Pure: what a page's JSON-LD says about it (https://json-ld.org, https://schema.org).

Every ``<script type="application/ld+json">`` block is found by string search and parsed
alone; ``@graph`` and ``mainEntity`` members are flattened into one list of objects, and a
block that is not JSON is skipped. Of those objects one describes the page (an article, else
a web page, else any object with a headline): its ``headline`` is a title, its
``datePublished`` and ``dateModified`` are dates, its ``publisher`` (resolved through
``@id`` references) names the site.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from verifier.citation.page_text import clean, word_set

_LD_TYPE = "application/ld+json"
_LD_WRAPPERS = (("<!--", "-->"), ("//<![CDATA[", "//]]>"), ("<![CDATA[", "]]>"))
_LD_MAX_OBJECTS = 200
_LD_MAX_DEPTH = 4
_ARTICLE_TYPES = word_set(
    "Article NewsArticle ReportageNewsArticle AnalysisNewsArticle OpinionNewsArticle "
    "BackgroundNewsArticle ReviewNewsArticle BlogPosting LiveBlogPosting Report "
    "ScholarlyArticle TechArticle SocialMediaPosting"
)


def ld_objects(text: str) -> list[dict[str, Any]]:
    """Every JSON-LD object on the page, ``@graph`` and ``mainEntity`` members included;
    a block that is not JSON is skipped."""
    objects: list[dict[str, Any]] = []
    for block in _ld_blocks(text):
        try:
            # strict=False: raw newlines and tabs inside strings, as many sites write them
            data = json.loads(_unwrap(block), strict=False)
        except (ValueError, RecursionError):
            continue
        _flatten(data, objects, depth=0)
    return objects


def _ld_blocks(text: str) -> Iterator[str]:
    """The text of each ``<script type="application/ld+json">`` (found by ``str.find``: a
    regex over 60 KiB costs a tenth of a millisecond)."""
    pos = 0
    while (found := text.find(_LD_TYPE, pos)) != -1:
        tag = text.rfind("<", 0, found)
        start = text.find(">", found)
        end = text.find("</script", start)
        if start == -1 or end == -1:
            return
        if text[tag : tag + 7].lower() == "<script":
            yield text[start + 1 : end].strip()
        pos = end


def _unwrap(block: str) -> str:
    """A block without the comment or CDATA markers old pages wrap scripts in."""
    for opener, closer in _LD_WRAPPERS:
        if block.startswith(opener) and block.endswith(closer):
            return block[len(opener) : -len(closer)].strip()
    return block


def _flatten(data: object, out: list[dict[str, Any]], depth: int) -> None:
    if depth > _LD_MAX_DEPTH or len(out) >= _LD_MAX_OBJECTS:
        return
    if isinstance(data, list):
        for item in data:
            _flatten(item, out, depth + 1)
    elif isinstance(data, dict):
        out.append(data)
        for key in ("@graph", "mainEntity"):
            if key in data:
                _flatten(data[key], out, depth + 1)


def _types(obj: dict[str, Any]) -> set[str]:
    """``@type`` names without a vocabulary prefix (``schema:NewsArticle``, a full IRI)."""
    kinds = obj.get("@type")
    names = kinds if isinstance(kinds, list) else [kinds]
    return {re.split(r"[/:#]", name)[-1] for name in names if isinstance(name, str)}


def main_object(objects: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The object that describes the page: an article, else a web page, else any headline."""
    typed = [(obj, _types(obj)) for obj in objects]
    for obj, types in typed:
        if types & _ARTICLE_TYPES:
            return obj
    for obj, types in typed:
        if any(name.endswith("Page") for name in types):
            return obj
    return next((obj for obj in objects if isinstance(obj.get("headline"), str)), None)


def ld_headline(main: dict[str, Any] | None) -> str:
    """The main object's ``headline``, else its ``name`` (the first of a list)."""
    if main is None:
        return ""
    for key in ("headline", "name"):
        value = main.get(key)
        if isinstance(value, list) and value:
            value = value[0]
        if isinstance(value, str) and clean(value):
            return clean(value)
    return ""


def ld_values(
    main: dict[str, Any] | None, objects: list[dict[str, Any]], key: str
) -> Iterator[Any]:
    """``key`` of the main object, then of every other object."""
    for obj in [main, *objects] if main is not None else objects:
        if obj is not None and key in obj:
            yield obj[key]


def publisher_names(main: dict[str, Any] | None, objects: list[dict[str, Any]]) -> list[str]:
    """``publisher.name`` (an object, a list of them, or an ``@id`` reference into the graph)."""
    by_id = {obj["@id"]: obj for obj in objects if isinstance(obj.get("@id"), str)}
    for publisher in ld_values(main, objects, "publisher"):
        names = []
        for item in publisher if isinstance(publisher, list) else [publisher]:
            if isinstance(item, str):
                names.append(clean(item))
            elif isinstance(item, dict):
                ref = item.get("@id")
                target = by_id.get(ref, item) if isinstance(ref, str) else item
                if isinstance(target.get("name"), str):
                    names.append(clean(target["name"]))
        if any(names):
            return [name for name in names if name]
    return []
