"""The benchmarks, in one place: the canonical run (search), against another
commit (against), the views, conform, and the reference runtime."""
