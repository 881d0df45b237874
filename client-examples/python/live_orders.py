"""Follows the back office's order events live and prints them, one JSON line each.

    pip install "gql[websockets]"
    python live_orders.py --url ws://127.0.0.1:8000/graphql --token bos_... [--count N] [--after EVENT_ID]

Uses the `gql` client over a WebSocket (the graphql-transport-ws protocol), authenticating in
`connection_init`. When the server ends the feed (SUBSCRIPTION_ENDED: the client was too slow,
the server restarts, the connection dropped), it subscribes again with `afterEventId` = the
last event it printed, so nothing is missed and nothing printed twice.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from gql import Client, gql
from gql.transport.exceptions import TransportClosed, TransportQueryError
from gql.transport.websockets import WebsocketsTransport

ORDER_EVENTS = gql(
    """subscription($after: ID) {
  orderEvents(afterEventId: $after) {
    id type at fromStatus toStatus order { id number status }
  }
}"""
)


async def follow(url: str, token: str, *, count: int | None, after: str | None, retries: int = 20) -> int:
    printed = 0
    for _ in range(retries):
        transport = WebsocketsTransport(
            url=url,
            init_payload={"authorization": f"Bearer {token}"},
            subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],  # graphql-transport-ws
        )
        try:
            async with Client(transport=transport) as session:
                async for event in session.subscribe(ORDER_EVENTS, variable_values={"after": after}):
                    item = event["orderEvents"]
                    print(json.dumps(item), flush=True)
                    after = item["id"]
                    printed += 1
                    if count is not None and printed >= count:
                        return 0
        except TransportQueryError as exc:
            extensions = (exc.errors or [{}])[0].get("extensions") or {}
            if extensions.get("code") != "SUBSCRIPTION_ENDED":
                print(f"refused: {exc}", file=sys.stderr)
                return 1
            after = extensions.get("lastEventId") or after
            print(f"feed ended ({extensions.get('reason')}); resuming after {after}", file=sys.stderr)
        except (TransportClosed, OSError) as exc:
            print(f"connection lost ({exc}); resuming after {after}", file=sys.stderr)
            await asyncio.sleep(1)
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="ws://127.0.0.1:8000/graphql")
    parser.add_argument(
        "--token", required=True, help="a session token (logIn) or an API token with ORDERS_READ"
    )
    parser.add_argument("--count", type=int, default=None, help="stop after this many events")
    parser.add_argument("--after", default=None, help="start after this event id (from the event log)")
    args = parser.parse_args(argv)
    return asyncio.run(follow(args.url, args.token, count=args.count, after=args.after))


if __name__ == "__main__":
    sys.exit(main())
