-- A scratch staging file of our own, read-only, under an alias of our own.
attach {path} as {alias} (read_only)
