-- Restatement notices (costs.restatements): a later CUR delivery moved a day
-- already judged, late credits and refunds included. Keyed by the event's
-- deterministic id, so a replay is a no-op. service is recovered from the
-- series id (the notice carries only that) for the service filter.
-- subscriptions.sources picks alert kinds; empty (the default) is every kind.
-- depends: 0003_tenant_budget_alerts

CREATE TABLE restatements (
    id                  text PRIMARY KEY,
    series_id           text NOT NULL,
    period_start        timestamptz NOT NULL,
    account_id          text NOT NULL,
    service             text,
    previous_cost       double precision NOT NULL,
    new_cost            double precision NOT NULL,
    delta               double precision NOT NULL,
    previous_attempt_id text NOT NULL,
    attempt_id          text NOT NULL,
    detected_at         timestamptz NOT NULL
);
CREATE INDEX restatements_account_detected ON restatements (account_id, detected_at DESC, id DESC);
CREATE INDEX restatements_detected ON restatements (detected_at DESC, id DESC);

ALTER TABLE subscriptions ADD COLUMN sources text[] NOT NULL DEFAULT '{}';
