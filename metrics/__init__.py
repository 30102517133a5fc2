"""The one catalogue of Prometheus metrics (grows with the ESME and simulator issue)."""
