-- spendstream gateway: initial schema.
-- Every table fed from Kafka is keyed by a deterministic id so a replay is a no-op.

CREATE TABLE tenants (
    id          text PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tenant_accounts (
    account_id  text PRIMARY KEY,
    tenant_id   text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE
);
CREATE INDEX tenant_accounts_tenant ON tenant_accounts (tenant_id);

-- Keys are "ssk_<id>_<secret>"; only sha256(secret) is stored.
CREATE TABLE api_keys (
    id          text PRIMARY KEY,
    tenant_id   text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    secret_hash bytea NOT NULL,
    scope       text NOT NULL CHECK (scope IN ('read', 'write', 'admin')),
    name        text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

-- Current state of each anomaly incident.
CREATE TABLE anomalies (
    incident_id   text PRIMARY KEY,
    last_event_id text NOT NULL,
    version       bigint NOT NULL,
    status        text NOT NULL,
    action        text NOT NULL,
    revision      integer NOT NULL,
    kind          text NOT NULL,
    series_id     text NOT NULL,
    account_id    text NOT NULL,
    service       text,
    severity      text NOT NULL,
    severity_rank smallint NOT NULL,
    impact_usd    double precision,
    window_start  timestamptz NOT NULL,
    window_end    timestamptz NOT NULL,
    detected_at   timestamptz NOT NULL,
    opened_at     timestamptz NOT NULL,
    payload       jsonb NOT NULL
);
CREATE INDEX anomalies_account_detected ON anomalies (account_id, detected_at DESC, incident_id DESC);
CREATE INDEX anomalies_detected ON anomalies (detected_at DESC, incident_id DESC);

-- Every lifecycle event ever received (history shown in the detail view).
CREATE TABLE anomaly_events (
    id          text PRIMARY KEY,
    incident_id text NOT NULL,
    action      text NOT NULL,
    revision    integer NOT NULL,
    detected_at timestamptz NOT NULL,
    payload     jsonb NOT NULL
);
CREATE INDEX anomaly_events_incident ON anomaly_events (incident_id, detected_at);

CREATE TABLE recommendations (
    resource_id     text PRIMARY KEY,
    event_id        text NOT NULL,
    account_id      text NOT NULL,
    region          text NOT NULL,
    finding         text NOT NULL,
    current_type    text NOT NULL,
    monthly_savings double precision NOT NULL,
    regression      boolean NOT NULL,
    generated_at    timestamptz NOT NULL,
    payload         jsonb NOT NULL
);
CREATE INDEX recommendations_savings ON recommendations (monthly_savings DESC, resource_id);
CREATE INDEX recommendations_account_savings
    ON recommendations (account_id, monthly_savings DESC, resource_id);

CREATE TABLE forecasts (
    series_id    text PRIMARY KEY,
    event_id     text NOT NULL,
    account_id   text NOT NULL,
    service      text,
    status       text NOT NULL,
    model        text,
    generated_at timestamptz NOT NULL,
    payload      jsonb NOT NULL
);
CREATE INDEX forecasts_account ON forecasts (account_id, series_id);

CREATE TABLE costs_daily (
    series_id    text NOT NULL,
    period_start timestamptz NOT NULL,
    event_id     text NOT NULL,
    level        text NOT NULL,
    granularity  text NOT NULL,
    account_id   text NOT NULL,
    service      text,
    usage_type   text,
    cost         double precision NOT NULL,
    currency     text NOT NULL,
    as_of        timestamptz NOT NULL,
    PRIMARY KEY (series_id, period_start)
);
CREATE INDEX costs_daily_account ON costs_daily (account_id, granularity, level);

CREATE TABLE dead_letters (
    id           text PRIMARY KEY,
    source_topic text,
    dlq_topic    text NOT NULL,
    "partition"  integer,
    "offset"     bigint,
    reason       text NOT NULL,
    error_type   text NOT NULL,
    service      text NOT NULL,
    failed_at    timestamptz NOT NULL,
    payload      jsonb NOT NULL
);
CREATE INDEX dead_letters_failed ON dead_letters (failed_at DESC, id DESC);

CREATE TABLE budget_alerts (
    incident_id   text PRIMARY KEY,
    last_event_id text NOT NULL,
    version       bigint NOT NULL,
    account_id    text NOT NULL,
    kind          text NOT NULL,
    action        text NOT NULL,
    month         date NOT NULL,
    detected_at   timestamptz NOT NULL,
    payload       jsonb NOT NULL
);

CREATE TABLE budgets (
    id          text PRIMARY KEY,
    tenant_id   text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name        text NOT NULL,
    scope       text NOT NULL,
    account_id  text,
    service     text,
    amount_usd  double precision NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX budgets_tenant ON budgets (tenant_id, id);

-- One row per stored alert lifecycle change; seq is the SSE event id.
-- Inserts take an advisory lock so seq order is commit order (no gaps seen by readers).
CREATE TABLE alert_outbox (
    seq          bigserial PRIMARY KEY,
    event_id     text NOT NULL UNIQUE,
    source       text NOT NULL,
    alert_id     text NOT NULL,
    action       text NOT NULL,
    account_id   text NOT NULL,
    service      text,
    severity     text NOT NULL,
    severity_rank smallint NOT NULL,
    impact_usd   double precision,
    title        text NOT NULL,
    occurred_at  timestamptz NOT NULL,
    payload      jsonb NOT NULL
);
CREATE INDEX alert_outbox_account ON alert_outbox (account_id, seq);

CREATE TABLE alert_cursors (
    name text PRIMARY KEY,
    seq  bigint NOT NULL
);

CREATE TABLE subscriptions (
    id              text PRIMARY KEY,
    tenant_id       text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name            text NOT NULL,
    channel         text NOT NULL CHECK (channel IN ('webhook', 'sns')),
    url             text,
    body_format     text NOT NULL DEFAULT 'json',
    secret          text,
    sns_topic_arn   text,
    accounts        text[] NOT NULL DEFAULT '{}',
    services        text[] NOT NULL DEFAULT '{}',
    min_severity    text NOT NULL DEFAULT 'low',
    min_impact_usd  double precision NOT NULL DEFAULT 0,
    active          boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX subscriptions_tenant ON subscriptions (tenant_id, id);

CREATE TABLE deliveries (
    id               bigserial PRIMARY KEY,
    subscription_id  text NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    alert_seq        bigint NOT NULL REFERENCES alert_outbox (seq),
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_status_code integer,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    UNIQUE (subscription_id, alert_seq)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';

-- The delivery log: one row per attempt.
CREATE TABLE delivery_attempts (
    id           bigserial PRIMARY KEY,
    delivery_id  bigint NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    attempt      integer NOT NULL,
    at           timestamptz NOT NULL DEFAULT now(),
    status_code  integer,
    error        text,
    duration_ms  double precision NOT NULL
);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, attempt);
