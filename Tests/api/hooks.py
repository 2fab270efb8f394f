"""Schemathesis hooks for the MajorDomo's API (run by APIFuzzEndToEndTests).

GET /events is a stream that ends after `?limit=N` events (or when the client goes). A
request must end for schemathesis to judge it, so a valid `limit` is kept within the events
the MajorDomo holds when the run starts (CP_EVENTS_HELD) and the replay starts at the first
of them (`after=0`, no valid Last-Event-ID, an empty one meaning none): every such request
gets its events at once and ends.
Invalid values (the negative cases) are left alone; the MajorDomo answers them 400 at once.
"""

import os

import schemathesis

HELD = int(os.environ.get("CP_EVENTS_HELD", "0"))


def _whole(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


@schemathesis.hook
def map_case(ctx, case):
    if case.operation.path != "/events":
        return case
    query = dict(case.query or {})
    limit = query.get("limit")
    if limit is None or _whole(limit):
        query["limit"] = (limit or 0) % (HELD + 1)
        if "after" not in query or _whole(query["after"]):
            query["after"] = 0
        if case.headers:  # a valid one only: an invalid one must still be refused
            case.headers = {
                k: v for k, v in case.headers.items() if k.lower() != "last-event-id" or not str(v).isdigit()
            }
    case.query = query
    return case
