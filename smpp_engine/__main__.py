"""``python -m smpp_engine`` is the ``smpp-engine`` command."""

from .cli import main

main()
