"""Training: the fast last-position step (:mod:`.fast`), the loop with its checkpoints and
resume (:mod:`.loop`), the CPU settings both rely on (:mod:`.cpu`) and stopping on a
signal (:mod:`.signals`)."""
