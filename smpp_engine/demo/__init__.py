"""``smpp-engine demo``: the whole product in one process, on SQLite, with the built-in simulator.

:mod:`.utility` builds the demo utility's data; :mod:`.consumers` plays the
consumers texting; :mod:`.run` ties them to a running gateway and reports.
"""

from .run import DemoOptions, DemoReport, run_demo

__all__ = ["DemoOptions", "DemoReport", "run_demo"]
