"""The report layer: figures and the HTML page of one or more stores (:mod:`.pages`), and the
ready-made studies (:mod:`.studies`)."""
