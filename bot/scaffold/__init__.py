"""``tickbot new-strategy``: write an installable strategy package from the templates here.

The package registers its strategy module under the ``tickbot.strategies`` entry point, so after
``pip install`` tickbot's one strategy registry (``strategies.load``) finds it by name. It holds
the kernel and its ``Params`` (a small inventory-skewed market maker to edit), an example config
and tests that pass as written: hand-made states for ``decide``, the entry point, a backtest.
"""

from __future__ import annotations

import re
from pathlib import Path

import strategies

TEMPLATES = Path(__file__).with_name("template")
FILES: dict[str, str] = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "init.py.tmpl": "src/{package}/__init__.py",
    "strategy.py.tmpl": "src/{package}/strategy.py",
    "example.yaml.tmpl": "examples/{name}.yaml",
    "test_strategy.py.tmpl": "tests/test_strategy.py",
}
"""Template file -> path in the new package (formatted with ``name`` and ``package``)."""
MAX_NAME_LEN = 40


class ScaffoldError(ValueError):
    """The name or the target folder cannot be used (one line for the CLI)."""


def names(name: str) -> dict[str, str]:
    """Return the placeholders of strategy ``name``: name, package (import) and dist (pip)."""
    if not re.fullmatch(strategies.NAME_PATTERN, name) or len(name) > MAX_NAME_LEN:
        raise ScaffoldError(
            f"bad strategy name {name!r}: lower-case letters, digits and _, starting with a "
            f"letter, at most {MAX_NAME_LEN} characters"
        )
    if name in strategies.available():
        raise ScaffoldError(f"strategy {name!r} exists already (tickbot strategies lists it)")
    return {"name": name, "package": f"tickbot_{name}", "dist": f"tickbot-{name.replace('_', '-')}"}


def render(text: str, values: dict[str, str]) -> str:
    """Replace every ``{{key}}`` in a template by its value."""
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    if "{{" in text:
        raise RuntimeError("a template placeholder has no value")
    return text


def scaffold(name: str, parent: Path) -> list[Path]:
    """Write the package of strategy ``name`` into ``parent/<name>``; return the files written.

    Refuses a folder that exists and is not empty, so nothing a user has is overwritten.
    """
    values = names(name)
    root = parent / name
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise ScaffoldError(f"{root} exists and is not an empty folder")
    written = []
    for template, target in FILES.items():
        path = root / target.format(**values)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render((TEMPLATES / template).read_text(encoding="utf-8"), values))
        written.append(path)
    return written
