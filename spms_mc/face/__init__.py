"""The face: the command line (:mod:`.cli`), the benchmarks (:mod:`.bench`) and progress display
(:mod:`.progress`)."""
