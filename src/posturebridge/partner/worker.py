"""The delivery worker: a feed consumer, a delivery loop, a CA log forwarder and (with a directory gate) the
directory sync, stopped gracefully.

Any number of workers may run against one partner database (PostgreSQL for more than one process): the
feed cursor and the claims are row-locked, so they share the work without sending a device twice at once.
``stop()`` lets the current round finish and record its outcomes; a worker killed outright loses nothing
either: its leases expire and another worker (or the restarted one) takes the items again.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from posturebridge.mdm.client import MdmApiError
from posturebridge.partner import delivery
from posturebridge.partner.delivery import DeliveryContext

log = logging.getLogger(__name__)


class Worker:
    def __init__(
        self,
        ctx: DeliveryContext,
        *,
        feed_wait: float = 5.0,
        idle: float = 0.5,
        consume_feed: bool = True,
    ) -> None:
        self.ctx = ctx
        self.feed_wait = feed_wait
        self.idle = idle
        self.consume_feed = consume_feed
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._pool = ThreadPoolExecutor(max_workers=ctx.concurrency, thread_name_prefix="partner-delivery")
        self._log_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="partner-calog")

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def start(self) -> None:
        """Run the three loops in background threads."""
        targets = [("partner-deliver", self._deliver_loop), ("partner-calog", self._forward_loop)]
        if self.consume_feed:
            targets.insert(0, ("partner-feed", self._feed_loop))
        if self.consume_feed and self.ctx.gate is not None:
            targets.append(("partner-directory", self._directory_loop))
        for name, target in targets:
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def request_stop(self) -> None:
        """Ask the loops to stop (safe from a signal handler); ``run`` then stops gracefully."""
        self._stop.set()
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the current round, record it, give back nothing half-done, and return."""
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)
        self._pool.shutdown(wait=True)
        self._log_pool.shutdown(wait=True)

    def run(self) -> None:
        """Start and block until ``stop()`` is called (from a signal handler, for instance)."""
        self.start()
        self._stop.wait()
        self.stop()

    def _feed_loop(self) -> None:
        while not self._stop.is_set():
            try:
                result = delivery.pull_feed(self.ctx, self.feed_wait)
            except MdmApiError as exc:
                log.warning("reading the MDM feed failed: %s", exc)
                self._stop.wait(min(self.feed_wait, 5.0) or 1.0)
                continue
            except Exception:
                log.exception("the feed consumer failed; retrying")
                self._stop.wait(1.0)
                continue
            if result.queued or result.coalesced:
                self._wake.set()

    def _deliver_loop(self) -> None:
        while not self._stop.is_set():
            try:
                claimed = delivery.deliver_due(self.ctx, self._pool)
                if claimed:
                    continue
                pause = delivery.next_wake(self.ctx, self.idle)
            except Exception:
                log.exception("a delivery round failed; retrying")
                pause = 1.0
            if pause > 0:
                self._wake.wait(pause)
                self._wake.clear()

    def _directory_loop(self) -> None:
        """Directory sync when the MDM asks for one, and on the schedule (the feed consumer's worker runs it)."""
        gate = self.ctx.gate
        assert gate is not None
        while not self._stop.is_set():
            try:
                if gate.run_due(self.ctx.clock()) is not None:
                    self._wake.set()
            except Exception:
                log.exception("the directory sync failed; retrying")
            self._stop.wait(gate.poll_seconds)

    def _forward_loop(self) -> None:
        while True:
            stopping = self._stop.is_set()
            try:
                forwarded = delivery.forward_calls(self.ctx, self._log_pool)
            except Exception:
                log.exception("forwarding CA log entries failed; retrying")
                forwarded = 0
            if stopping:
                return
            if not forwarded:
                self._stop.wait(self.idle)
