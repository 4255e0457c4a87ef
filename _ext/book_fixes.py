"""Local Sphinx extension: fixes to the built pages that Jupyter Book 1 cannot configure.

Jupyter Book's Sphinx setup runs sphinx-thebe's ``env-before-read-docs`` hook twice, which
adds the inline script that declares ``const THEBE_JS_URL`` twice to every page: the second
copy throws ``SyntaxError: Identifier 'THEBE_JS_URL' has already been declared`` in the
browser. Each page keeps the first copy of every script.
"""

from __future__ import annotations

from typing import Any


def _script_key(script: Any) -> tuple[str, str]:
    attributes = getattr(script, "attributes", {}) or {}
    return (str(getattr(script, "filename", script) or ""), str(attributes.get("body", "")))


def drop_duplicate_scripts(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple[str, str]] = set()
    unique = []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app: Any) -> dict[str, Any]:
    app.connect("html-page-context", drop_duplicate_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
