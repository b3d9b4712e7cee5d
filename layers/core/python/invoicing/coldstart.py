"""A function's cold start, as its handler module loads.

Loading a function's modules allocates some 70,000 objects (pydantic's
models, Powertools' resolver, botocore), and CPython's cyclic collector ran
13 times meanwhile, once over everything: 35 ms of the api function's
250 ms import (make bench). So each handler module turns the collector off
on its first line (`gc.disable()`) and calls `done()` on its last."""

import gc


def done() -> None:
    """The modules are loaded: what they made lives as long as the process,
    so it is frozen out of every later collection, then the collector runs
    again as usual. Import-time cycles already garbage (some 12,000 objects,
    under 2 MB) are frozen with them."""
    gc.freeze()
    gc.enable()
