"""The two stores' schemas, as numbered migrations (:mod:`.sqlite`, :mod:`.postgres`)."""
