"""A store engine pushing its orders to the back office with an API token, retrying safely.

    python store_push.py --url http://127.0.0.1:8000/graphql --token boa_... \\
        --channel-id CHANNEL_ID orders.json

orders.json is a list of orders in the store's own terms:
    [{"id": "web-1001", "customer": {"name": "Ann", "email": "ann@example.com"},
      "lines": [{"sku": "85123A", "quantity": "2", "price": "2.55"}]}, ...]

Each order is sent as `placeOrder` with `externalId` = the store's order id. A request that
fails on the way (connection refused or dropped, timeout, 5xx) is sent again, the same, after
a growing pause: the back office answers a repeated externalId with the order it already has,
so a retry never makes a second order even when the first attempt did arrive. A userError is
final (the order is wrong, retrying will not help) and is reported. Standard library only.
Prints one JSON line per order: {"externalId", "number", "status"} or {"externalId", "errors"}.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request

PLACE_ORDER = """mutation($input: PlaceOrderInput!) {
  placeOrder(input: $input) { order { id number status } userErrors { field code message } } }"""
TRANSIENT_HTTP = {429, 500, 502, 503, 504}


class Transient(Exception):
    """Worth trying again: the request may or may not have arrived."""


def post(url: str, token: str, query: str, variables: dict, timeout: float) -> dict:
    body = json.dumps({"query": query, "variables": variables}).encode()
    request = urllib.request.Request(
        url,
        data=body,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        if exc.code in TRANSIENT_HTTP:
            raise Transient(f"HTTP {exc.code}") from exc
        raise
    except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError) as exc:
        raise Transient(str(exc)) from exc
    if answer.get("errors"):
        codes = {(e.get("extensions") or {}).get("code") for e in answer["errors"]}
        if codes & {"UNAUTHENTICATED", "FORBIDDEN", "BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED"}:
            raise SystemExit(f"refused: {answer['errors'][0].get('message')}")
        raise Transient(answer["errors"][0].get("message", "error"))
    return answer["data"]


def push(url: str, token: str, channel_id: str, order: dict, *, tries: int, timeout: float) -> dict:
    variables = {
        "input": {
            "channelId": channel_id,
            "externalId": str(order["id"]),
            "customer": order["customer"],
            "lines": order["lines"],
        }
    }
    pause = 0.2
    for attempt in range(1, tries + 1):
        try:
            payload = post(url, token, PLACE_ORDER, variables, timeout)["placeOrder"]
        except Transient as exc:
            if attempt == tries:
                return {"externalId": order["id"], "errors": [f"gave up after {tries} tries: {exc}"]}
            print(f"{order['id']}: attempt {attempt} failed ({exc}); retrying", file=sys.stderr)
            time.sleep(pause)
            pause = min(pause * 2, 10.0)
            continue
        if payload["userErrors"]:
            return {"externalId": order["id"], "errors": payload["userErrors"]}
        placed = payload["order"]
        return {
            "externalId": order["id"],
            "number": placed["number"],
            "status": placed["status"],
            "id": placed["id"],
        }
    raise AssertionError("unreachable")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("orders", help="a JSON file with a list of orders ('-' for stdin)")
    parser.add_argument("--url", default="http://127.0.0.1:8000/graphql")
    parser.add_argument("--token", required=True, help="an API token with the ORDERS_WRITE scope")
    parser.add_argument("--channel-id", required=True)
    parser.add_argument("--tries", type=int, default=6)
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args(argv)
    with sys.stdin if args.orders == "-" else open(args.orders, encoding="utf-8") as handle:
        orders = json.load(handle)
    failed = 0
    for order in orders:
        result = push(args.url, args.token, args.channel_id, order, tries=args.tries, timeout=args.timeout)
        failed += "errors" in result
        print(json.dumps(result), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
