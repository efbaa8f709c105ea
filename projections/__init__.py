"""Read models built from the log by projectors; rebuildable from position 0 at any time. Knows no web."""
