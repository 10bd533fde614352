"""The engine: the tick loop of one member (:mod:`.member`), the batched members on one GPU
(:mod:`.batch`) and the output schema (:mod:`.output`). It runs the registered mechanisms and names
none of them."""
