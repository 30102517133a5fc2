"""The one folder whose files a control request may name.

The control API opens no path a request names except a regular file inside the
scenario folder the simulator was started with: the name is resolved (``..`` and
symbolic links followed) and must still lie inside the folder. A simulator with
no scenario folder opens no file for a request at all. Errors name the request's
own words and never anything read from a file.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["FolderError", "ScenarioFolder"]

#: Longer names are refused before the file system sees them.
MAX_NAME = 255


class FolderError(ValueError):
    """A name that does not lead to a file inside the scenario folder; ``reason`` says why."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(reason)


class ScenarioFolder:
    """Files inside ``path`` (None: no folder, every name is refused)."""

    __slots__ = ("path",)

    def __init__(self, path: Path | None) -> None:
        self.path = path.resolve() if path is not None else None

    def __repr__(self) -> str:
        return f"ScenarioFolder({self.path})"

    def file(self, name: str) -> Path:
        """The regular file ``name`` leads to (relative to the folder), resolved.

        Raises :class:`FolderError` when it leads outside the folder, to no file,
        or the simulator has no folder.
        """
        folder = self.path
        if folder is None:
            raise FolderError(
                name, "the simulator has no scenario folder (smpp-engine sim --scenario-dir)"
            )
        if not name or len(name) > MAX_NAME or "\x00" in name:
            raise FolderError(name, f"expected a file name of 1-{MAX_NAME} characters")
        try:
            resolved = (folder / name).resolve()
        except (OSError, RuntimeError, ValueError):  # a symlink loop, an unreadable folder
            raise FolderError(name, "cannot be resolved inside the scenario folder") from None
        if resolved == folder or not resolved.is_relative_to(folder):
            raise FolderError(name, "outside the scenario folder")
        try:
            regular = resolved.is_file()
        except OSError:
            regular = False
        if not regular:
            raise FolderError(name, "no such file in the scenario folder")
        return resolved

    def scenario(self, name: str) -> Path:
        """The scenario file called ``name`` (``NAME`` or ``NAME.toml``) in the folder."""
        return self.file(name if name.endswith(".toml") else f"{name}.toml")
