-- Let go of an attached scratch staging file.
detach {alias}
