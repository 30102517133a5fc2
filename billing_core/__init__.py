"""The utility billing domain: pure, Decimal-based, no I/O (grows with the billing issue)."""
