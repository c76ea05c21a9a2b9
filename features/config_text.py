"""Reading a YAML configuration file: every way it can be unreadable is one error.

The mapping, alert rule and SLA desk loaders read their files through
:func:`read_yaml_file`, so a file that is not UTF-8, not YAML, holds a value
YAML cannot build (``2016-02-30``, ``!!int x``) or nests too deeply is
refused with the line and what was expected, never with a parser's exception.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, SequenceNode

#: Deepest nesting of lists and mappings a configuration file may use.
MAX_DEPTH = 50
#: Most values a file may hold once its aliases are expanded: nine aliases of
#: nine aliases of ... ("a billion laughs") would otherwise take minutes.
MAX_VALUES = 100_000


class YamlFileError(ValueError):
    """A configuration file is not readable YAML; the message names the line."""


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader with nesting and size bounded, bad scalars marked."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._depth = 0
        self._sizes: dict[int, int] = {}  # id of a composed node -> values in it

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        # PyYAML composes recursively: bound the depth before Python's stack.
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise ComposerError(
                    None,
                    None,
                    f"expected at most {MAX_DEPTH} levels of nested lists and mappings",
                    self.peek_event().start_mark,
                )
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if node is not None and id(node) not in self._sizes:
            self._count(node)
        return node

    def _count(self, node: Node) -> None:
        # An alias is its anchor's node again: it counts its values each time.
        children: list[Node] = []
        if isinstance(node, SequenceNode):
            children = list(node.value)
        elif isinstance(node, MappingNode):
            children = [part for pair in node.value for part in pair]
        size = 1 + sum(self._sizes.get(id(child), 1) for child in children)
        if size > MAX_VALUES:
            raise ComposerError(
                None,
                None,
                f"expected at most {MAX_VALUES} values once aliases are expanded",
                node.start_mark,
            )
        self._sizes[id(node)] = size

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        # A scalar YAML cannot build (an impossible date, "!!int x") raises a
        # bare ValueError; give it the node's place like every other error.
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, AttributeError, LookupError) as exc:
            # PyYAML's own constructors fail so on "!!timestamp x", "!!int ''".
            tag = str(node.tag).replace("tag:yaml.org,2002:", "!!")
            why = f" ({exc})" if isinstance(exc, ValueError) else ""
            raise ConstructorError(
                None,
                None,
                f"expected a {tag} value, got {node.value!r}{why}",
                node.start_mark,
            ) from exc


def _describe(exc: yaml.YAMLError, text: str) -> str:
    # "line 3, column 7: expected ..." from whichever mark the error carries.
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        what = "; ".join(str(p) for p in (exc.context, exc.problem) if p)
        return f"line {mark.line + 1}, column {mark.column + 1}: {what}"
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        return f"line {line}: expected printable text, got the character #x{code:04x}"
    return " ".join(str(exc).split())


def parse_yaml(text: str) -> Any:
    """Return the document in ``text``; raise :class:`YamlFileError` naming the line."""
    try:
        loader = _BoundedLoader(text)  # checks that every character is printable
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise YamlFileError(_describe(exc, text)) from exc


def read_yaml_file(path: Path) -> Any:
    """Return the YAML document of a UTF-8 file.

    Raises
    ------
    OSError
        When the file cannot be read; callers name it in their own error.
    YamlFileError
        When the bytes are not UTF-8 or the text is not YAML, naming the line.
    """
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise YamlFileError(
            f"line {line}: expected UTF-8 text (byte {exc.start + 1}: {exc.reason})"
        ) from exc
    return parse_yaml(text)
