"""Messages: their model and store interface, the rules that move them, and each backend's I/O.

- :mod:`.model` and :mod:`.interface`: what a message is and what a store promises.
- The rules, once for both stores: :mod:`.accept` (what an accepted row is),
  :mod:`.rules` (how an answer, a failure or a receipt moves a message),
  :mod:`.recovery` (where a claim whose lease ran out, or one given back, goes).
- Each backend only loads and writes: ``sqlite_accept``/``sqlite_record`` and
  ``postgres_accept``/``postgres_record``; the claim, recovery and reads are the
  stores' own calls (:mod:`smpp_engine.store.sqlite`, :mod:`smpp_engine.store.postgres`).
"""
