"""The billing repository as the store keeps it.

The rules, once for both stores: :mod:`.rules` (what a save of an answer or a
payment writes, ledger changes computed by billing_core), :mod:`.import_rules`
(what an import refuses); :mod:`.importing` reads import documents,
:mod:`.codec` and :mod:`.rows` turn rows into the billing core's objects and
back. :mod:`.sqlite` and :mod:`.postgres` only load and write.
"""
