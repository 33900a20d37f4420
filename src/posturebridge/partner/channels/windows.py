"""Windows devices: ``PATCH /devices(deviceId='…')`` with ``isManaged`` and ``isCompliant`` as the tenant's MDM
application (graph-facts.md §8: "only applicable for approved MDM apps on Windows devices"), up to 20 per
``$batch``. The device is addressed by its ``deviceId`` alternate key, which is what the MDM learns at
Entra join, so no lookup of the object id is needed. A 204 is success.

With a :class:`~posturebridge.partner.pacing.Pacer` every request (each item of a $batch counts, as Graph
counts it) waits for the pacer, and every answer adapts it. An item refused for a limit the whole channel
shares (a 429 with ``x-ms-throttle-scope``) holds the channel for its Retry-After, as a throttled $batch does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from posturebridge.common.clock import utcnow
from posturebridge.partner.channels import WINDOWS, Delivery
from posturebridge.partner.graph_client import ApiResponse, BatchItem, GraphClient, compact, odata_quote
from posturebridge.partner.pacing import Answer, Pacer
from posturebridge.partner.queue import CallRecordIn, Claimed

CA_LOG_CHANNEL = "Graph (Windows MDM)"


@dataclass
class WindowsChannel:
    graph: GraphClient
    clock: Callable[[], dt.datetime] = utcnow
    name: str = field(default=WINDOWS)
    chunk_size: int = 20
    pacer: Pacer | None = None

    def deliver(self, items: Sequence[Claimed]) -> list[Delivery]:
        requests = [self._request(item) for item in items]
        if self.pacer is not None:
            self.pacer.acquire(len(requests))
        started = self.clock()
        batch: ApiResponse | None = None
        if len(requests) == 1:
            answers = [self.graph.send(requests[0].method, requests[0].url, json_body=requests[0].body)]
        else:
            batch, answers = self.graph.batch(requests)
        throttled = batch is not None and batch.status == 429
        answered = [Answer.of(answer.status, answer.headers) for answer in answers]
        if self.pacer is not None:
            self.pacer.record(answered)
        deliveries = []
        for index, (item, request, answer) in enumerate(zip(items, requests, answers, strict=True)):
            where = f" in $batch ({index + 1} of {len(requests)})" if batch is not None else ""
            record = CallRecordIn(
                device_id=item.device_id,
                occurred_at=started,
                channel=CA_LOG_CHANNEL,
                request_summary=f"{request.method} /{self.graph.version}{request.url} {compact(request.body)}{where}",
                response_status=answer.status or None,
                error=answer.error_text(),
                correlation_id=answer.correlation_id,
            )
            deliveries.append(
                Delivery(
                    item=item,
                    status=answer.status,
                    retry_after=answer.retry_after,
                    error=answer.error_text(),
                    calls=(record,),
                    throttled_channel=throttled or answered[index].congestion,
                )
            )
        return deliveries

    @staticmethod
    def _request(item: Claimed) -> BatchItem:
        state = item.state
        assert state.entra_device_id is not None, "unlinked devices are never claimed"
        return BatchItem(
            "PATCH",
            f"/devices(deviceId={odata_quote(state.entra_device_id)})",
            {"isManaged": state.is_managed, "isCompliant": state.is_compliant},
        )
