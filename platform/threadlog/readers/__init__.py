"""Reader tools: formatting preview, permalinks' context, comment counts (+ count.js), Atom feeds, identicons."""
