"""JSON batching: ``POST /$batch`` with up to 20 requests (learn.microsoft.com/graph/json-batching).

Each item runs through the whole stack again (token, throttling, routes), so an item can be 429 on its
own. ``dependsOn`` orders items; an item whose dependency failed gets 424 Failed Dependency. Items
without dependencies run concurrently. The batch itself is 200 when it parses, 400 otherwise.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from fastapi import APIRouter, Request, Response

from posturebridge.directory.graph.body import read_json
from posturebridge.directory.graph.core import json_response
from posturebridge.directory.graph.errors import bad_request

MAX_REQUESTS = 20
FORWARDED_HEADERS = ("authorization", "client-request-id")


def _validate(body: dict[str, Any]) -> list[dict[str, Any]]:
    requests = body.get("requests")
    if not isinstance(requests, list) or not requests:
        raise bad_request("Invalid batch payload format.")
    if len(requests) > MAX_REQUESTS:
        raise bad_request(f"Number of batch requests exceeds the maximum of {MAX_REQUESTS}.")
    ids: set[str] = set()
    for item in requests:
        if not isinstance(item, dict):
            raise bad_request("Invalid batch payload format.")
        item_id, method, url = item.get("id"), item.get("method"), item.get("url")
        if not isinstance(item_id, str) or not item_id:
            raise bad_request("Batch request id is required.")
        if item_id in ids:
            raise bad_request(f"Batch request id '{item_id}' is duplicated.")
        ids.add(item_id)
        if not isinstance(method, str) or method.upper() not in {"GET", "POST", "PATCH", "PUT", "DELETE"}:
            raise bad_request(f"Invalid method '{method}' in batch request '{item_id}'.")
        if not isinstance(url, str) or not url or url.startswith(("http://", "https://")):
            raise bad_request(f"Invalid URL in batch request '{item_id}': use a URL relative to the version.")
        headers = item.get("headers")
        if headers is not None and not isinstance(headers, dict):
            raise bad_request(f"Invalid headers in batch request '{item_id}'.")
        if "body" in item and not (headers and any(k.lower() == "content-type" for k in headers)):
            raise bad_request(
                f"Content-Type header is required for a request with a body in batch request '{item_id}'."
            )
        depends = item.get("dependsOn", [])
        if not isinstance(depends, list) or not all(isinstance(d, str) for d in depends):
            raise bad_request(f"Invalid dependsOn in batch request '{item_id}'.")
    for item in requests:
        for dependency in item.get("dependsOn", []):
            if dependency not in ids or dependency == item["id"]:
                raise bad_request(f"Batch request '{item['id']}' depends on unknown request '{dependency}'.")
    return requests


def register(api: APIRouter, _context: Any, version: str) -> None:
    @api.post("/$batch")
    async def run_batch(request: Request) -> Response:
        requests = _validate(await read_json(request))
        forwarded = {name: value for name, value in request.headers.items() if name.lower() in FORWARDED_HEADERS}
        transport = httpx.ASGITransport(
            app=request.app, client=(request.client.host if request.client else "127.0.0.1", 0)
        )
        results: dict[str, dict[str, Any]] = {}
        done: dict[str, asyncio.Event] = {item["id"]: asyncio.Event() for item in requests}

        async with httpx.AsyncClient(transport=transport, base_url=str(request.base_url).rstrip("/")) as client:

            async def run(item: dict[str, Any]) -> None:
                try:
                    for dependency in item.get("dependsOn", []):
                        await done[dependency].wait()
                    if any(results[d]["status"] >= 400 for d in item.get("dependsOn", [])):
                        results[item["id"]] = {
                            "id": item["id"],
                            "status": 424,
                            "headers": {},
                            "body": {"error": {"code": "FailedDependency", "message": "Failed dependency."}},
                        }
                        return
                    headers = {**forwarded, **{str(k): str(v) for k, v in (item.get("headers") or {}).items()}}
                    content = json.dumps(item["body"]).encode() if "body" in item else None
                    url = item["url"] if item["url"].startswith("/") else f"/{item['url']}"
                    response = await client.request(
                        item["method"].upper(), f"/{version}{url}", headers=headers, content=content
                    )
                    body: Any = None
                    if response.content:
                        try:
                            body = response.json()
                        except ValueError:
                            body = response.text
                    kept = {
                        k: v
                        for k, v in response.headers.items()
                        if k.lower() in ("content-type", "retry-after", "location", "odata-version")
                        or k.lower().startswith("x-ms-")
                    }
                    results[item["id"]] = {
                        "id": item["id"],
                        "status": response.status_code,
                        "headers": kept,
                        "body": body,
                    }
                finally:
                    done[item["id"]].set()

            await asyncio.gather(*(run(item) for item in requests))
        return json_response(request, {"responses": [results[item["id"]] for item in requests]})
