"""``gridtsne serve``: the asynchronous visualization API over HTTP.

A client POSTs a request for a run, gets an id (the run's FiftyOne delegated
operation) with status "pending", polls it until it is "ready", then downloads
the mosaic, its layout.csv and, for large grids, its Deep Zoom tiles. The work
is FiftyOne's delegated-operation queue's (:mod:`gridtsne.serve.worker`); the
server (Starlette on Hypercorn, both installed with FiftyOne) only queues,
reports and serves files. See docs/design.md, "The web API".
"""
