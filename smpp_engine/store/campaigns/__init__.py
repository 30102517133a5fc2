"""Campaigns, recipient groups and the opt-out list, as the store keeps them.

:mod:`.model` (with the campaign states and kinds the domain uses) and
:mod:`.interface`; :mod:`.sqlite` and :mod:`.postgres` load and write.
"""
