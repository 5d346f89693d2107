"""Prometheus metrics shared by every service (exposed at /metrics)."""

from prometheus_client import Counter, Gauge, Histogram

EVENTS_APPENDED = Counter("nrmm_events_appended_total", "Events appended to the event store", ["stream_type"])
APPEND_CONFLICTS = Counter("nrmm_append_conflicts_total", "Appends refused by the expected-version check")
RELAY_BACKLOG = Gauge("nrmm_relay_backlog_commits", "Committed but not yet published commits", ["topic"])
RELAY_PARKED = Gauge("nrmm_relay_parked_commits", "Commits the broker refused for good, parked for an operator",
                     ["topic"])
RELAY_PUBLISHED = Counter("nrmm_relay_published_events_total", "Events published by the outbox relay", ["topic"])
CONSUMER_LAG = Gauge(
    "nrmm_consumer_lag_messages", "Messages behind the partition's high watermark", ["group", "topic", "partition"]
)
PROJECTION_APPLIED = Counter(
    "nrmm_projection_events_total", "Events seen by a projection", ["projection", "outcome"]
)
HTTP_LATENCY = Histogram(
    "nrmm_http_request_seconds", "HTTP request latency", ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
