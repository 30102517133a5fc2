"""The fenced code blocks of a Markdown file, and the commands of a shell block."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SHELL", "Block", "Command", "blocks_in"]

#: Languages whose blocks are shell commands. A block with no language is refused
#: by the test: it could hide commands from it.
SHELL = frozenset({"sh", "bash", "shell", "console"})

_FENCE = re.compile(r"^(`{3,})(.*)$")


@dataclass(frozen=True, slots=True)
class Command:
    """One logical line (continuations joined), and the comment lines that follow it."""

    text: str
    comments: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Block:
    file: str
    line: int
    language: str
    text: str

    @property
    def commands(self) -> list[Command]:
        """The commands, trailing comments dropped; a comment line is kept by the one before."""
        commands: list[Command] = []
        pending = ""
        for raw in self.text.splitlines():
            if not pending and raw.lstrip().startswith("#"):
                if commands:  # what the command before it prints, or says of it
                    last = commands[-1]
                    comment = raw.lstrip()[1:].strip()
                    commands[-1] = Command(last.text, (*last.comments, comment))
                continue
            line = strip_comment(raw.strip())
            if line.endswith("\\"):
                pending += line[:-1].rstrip() + " "
            elif line or pending:
                commands.append(Command(pending + line))
                pending = ""
        return commands

    @property
    def key(self) -> str:
        """How the test names the block: its file and its first line of command."""
        for raw in self.text.splitlines():
            if raw.strip() and not raw.lstrip().startswith("#"):
                return f"{self.file}: {strip_comment(raw.strip()).removesuffix(chr(92)).strip()}"
        return f"{self.file}: (empty, line {self.line})"


def strip_comment(line: str) -> str:
    """``line`` without a trailing ``  # comment`` (a ``#`` inside quotes is kept)."""
    quote = ""
    for index, char in enumerate(line):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index].rstrip()
    return line


def blocks_in(path: Path, root: Path) -> list[Block]:
    found = []
    opened: tuple[int, str, list[str]] | None = None
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        match = _FENCE.match(line)
        if opened is None:
            if match:
                opened = (number, match.group(2).strip(), [])
        elif match and not match.group(2).strip():
            start, language, lines = opened
            found.append(Block(str(path.relative_to(root)), start, language, "\n".join(lines)))
            opened = None
        else:
            opened[2].append(line)
    return found
