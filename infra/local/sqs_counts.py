"""moto's SQS, with the message counts computed only when asked for.

moto 5.2's `Queue.attributes` counts the queue's messages (visible, in
flight, delayed: a pass over every message each) whenever any attribute is
read, and it reads them for each message it sends (a FIFO setting) and for
each message it receives (the retention period): a send or a receive costs
the whole queue, and a queue of n messages costs n² to drain. The webhook
deliveries' queue holds thousands when a burst of events is fanned out
(`make bench`: 1,000 events to 5 endpoints), and the emulation's one server
thread then spent half its time counting (py-spy, measured).

Here the counts are left out of the attributes moto reads for itself, and
computed as before for GetQueueAttributes: the answers are moto's own.
tests/integration/test_emulation_sqs.py holds them to moto's.
"""

from __future__ import annotations

import threading
from typing import Any

COUNTS = frozenset({"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed"})  # fmt: skip
_installed = False
_asked = threading.local()  # set while GetQueueAttributes runs: the counts are wanted
_one_at_a_time = threading.Lock()  # a queue's attribute list is changed for the read: in-process tests use threads


def install() -> None:
    """Patch moto's SQS in this process (once)."""
    global _installed
    if _installed:
        return
    from moto.sqs.models import Queue, SQSBackend

    every = Queue.attributes.fget
    assert every is not None
    fewer = [name for name in Queue.BASE_ATTRIBUTES if name not in COUNTS]

    def attributes(self: Any) -> dict[str, Any]:
        if getattr(_asked, "counts", False):
            return every(self)  # type: ignore[no-any-return]
        with _one_at_a_time:
            self.BASE_ATTRIBUTES = fewer  # this instance's, over the class's list, for this read
            try:
                return every(self)  # type: ignore[no-any-return]
            finally:
                del self.BASE_ATTRIBUTES

    original = SQSBackend.get_queue_attributes

    def get_queue_attributes(self: Any, queue_name: str, attribute_names: list[str]) -> Any:
        _asked.counts = "All" in attribute_names or not COUNTS.isdisjoint(attribute_names)
        try:
            return original(self, queue_name, attribute_names)
        finally:
            _asked.counts = False

    Queue.attributes = property(attributes)  # type: ignore[assignment,method-assign]
    SQSBackend.get_queue_attributes = get_queue_attributes  # type: ignore[method-assign]
    _installed = True
