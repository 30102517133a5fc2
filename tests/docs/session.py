"""Commands run as a reader runs them in one terminal: bash, one working folder, variables kept.

- A command's variables outlive it (``KEY=$(...)``, ``export``), as in a shell.
- A line ending in ``&``, and ``smpp-engine run|sim|gateway`` in the foreground,
  are services: started, then waited for until their first stdout line says
  where they listen. A foreground one is then stopped with Ctrl-C (SIGINT), as
  the reader would; a background one runs until the session ends, and must then
  stop cleanly on Ctrl-C too.
- The documented ports are the reader's; here every listener takes a free port
  (port 0) and the documented number in later commands becomes the port it got:
  see :data:`PORTS`.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["PORTS", "Finished", "Service", "Session", "clean_environment"]

#: A documented port, and the fields of a service's first line that give the real one.
PORTS = {
    "2775": ("port", "simulator_port"),  # sim; run's built-in simulator
    "8775": ("control_port",),  # sim --control-port
    "8080": ("http_port",),  # run's HTTP API
}
#: Environment of every command: the settings' listeners on free ports.
FREE_PORTS = {"SMPP_ENGINE__HTTP__PORT": "0", "SMPP_ENGINE__SIMULATOR__PORT": "0"}
_SERVICES = re.compile(r"(^|\s)smpp-engine (run|sim|gateway)(\s|$)")
_WAIT = 120.0  # seconds a command may take before the session gives up on it


@dataclass
class Finished:
    command: str
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@dataclass
class Service:
    command: str
    process: subprocess.Popen[str]
    ready: dict[str, Any]
    stderr_path: Path
    finished: Finished | None = None


@dataclass
class Session:
    cwd: Path
    env: dict[str, str]
    #: Text replaced in every command before it runs (documented value -> the test's).
    substitutions: dict[str, str] = field(default_factory=dict)
    services: list[Service] = field(default_factory=list)
    _count: int = 0

    def prepared(self, command: str) -> str:
        for documented, actual in self.substitutions.items():
            if documented.isdigit():  # a port: the whole number only
                command = re.sub(rf"(?<![0-9]){documented}(?![0-9])", actual, command)
            else:
                command = command.replace(documented, actual)
        return command

    def run(
        self, command: str, stdin: str | None = None, *, background: bool = False
    ) -> Finished | Service:
        """Run one command of a block; a service is started (and stopped if in the foreground)."""
        background = background or command.endswith("&")
        text = self.prepared(command.removesuffix("&").strip())
        service = _SERVICES.search(text) is not None
        if background or service:
            started = self.start(text, command, ready_line=service)
            return started if background else self.stop(started)
        return self._finish(command, text, stdin)

    def _finish(self, command: str, text: str, stdin: str | None) -> Finished:
        env_file = self._next_file("env")
        script = f"set -a\n{text}\nstatus=$?\nenv -0 > {env_file}\nexit $status\n"
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=self.cwd,
            env=self.env,
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            timeout=_WAIT,
            check=False,
        )
        if env_file.exists():  # the variables it set, for the commands after it
            pairs = env_file.read_text().split("\0")
            self.env = dict(pair.split("=", 1) for pair in pairs if "=" in pair)
        return Finished(command, done.returncode, done.stdout, done.stderr)

    def start(self, text: str, command: str, *, ready_line: bool = True) -> Service:
        """Start ``text`` in the background; a service on free ports, once it says where.

        Without ``ready_line`` it is any command, left to run (see :meth:`wait`).
        """
        for documented in PORTS:  # a port not yet given: this service takes a free one
            if documented not in self.substitutions:
                text = re.sub(rf"(?<![0-9]){documented}(?![0-9])", "0", text)
        stderr_path = self._next_file("stderr")
        process = subprocess.Popen(
            ["bash", "-c", text],
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr_path.open("w"),
            text=True,
            # Its own process group, so Ctrl-C reaches the command as in a terminal.
            start_new_session=True,
        )
        assert process.stdout is not None
        if not ready_line:
            service = Service(command, process, {}, stderr_path)
            self.services.append(service)
            return service
        readable, _, _ = select.select([process.stdout], [], [], _WAIT)
        line = process.stdout.readline() if readable else ""
        if not line:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise AssertionError(f"{command!r} did not start: {stderr_path.read_text()[-2000:]}")
        ready = json.loads(line)
        service = Service(command, process, ready, stderr_path)
        self.services.append(service)
        for documented, names in PORTS.items():
            for name in names:
                if documented not in self.substitutions and ready.get(name) is not None:
                    self.substitutions[documented] = str(ready[name])
        return service

    def stop(self, service: Service) -> Finished:
        """Ctrl-C, then what it printed; it must end by itself."""
        if service.finished is None:
            if service.process.poll() is None:
                os.killpg(service.process.pid, signal.SIGINT)
            out, _ = service.process.communicate(timeout=_WAIT)
            service.finished = _finished(service, out)
        return service.finished

    def wait(self, service: Service) -> Finished:
        """A background command that ends by itself: its result once it has."""
        out, _ = service.process.communicate(timeout=_WAIT)
        service.finished = _finished(service, out)
        return service.finished

    def close(self) -> list[Finished]:
        """Stop every service still running, last started first."""
        stopped = [self.stop(service) for service in reversed(self.services)]
        for service in self.services:
            if service.process.poll() is None:
                os.killpg(service.process.pid, signal.SIGKILL)
                service.process.wait()
        return stopped

    def _next_file(self, kind: str) -> Path:
        self._count += 1
        return self.cwd.parent / f"{self.cwd.name}.{self._count}.{kind}"


def _finished(service: Service, out: str) -> Finished:
    first = json.dumps(service.ready) + "\n" if service.ready else ""
    return Finished(
        service.command, service.process.returncode, first + out, service.stderr_path.read_text()
    )


def clean_environment(bin_dir: Path) -> dict[str, str]:
    """The test process's environment without engine settings, the venv's commands first."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("SMPP_")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env.update(FREE_PORTS)
    return env
