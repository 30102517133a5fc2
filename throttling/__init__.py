"""Rate limiting primitives with an injected clock (grows with the pipeline issue)."""
