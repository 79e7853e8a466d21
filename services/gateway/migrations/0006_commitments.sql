-- Commitments (rightsizing's commitments topic and alerts): the newest report
-- per account (coverage, utilisation, held Savings Plans and RIs, purchase
-- recommendations) and every commitment alert. A report only moves forward
-- (a later generated_at); an alert id names the commitment, the reason and the
-- month or end date, so a replay or a repeated report is a no-op.
-- depends: 0005_restatements

CREATE TABLE commitment_reports (
    account_id          text PRIMARY KEY,
    event_id            text NOT NULL,
    coverage            double precision NOT NULL,
    utilisation         double precision,
    eligible_on_demand  double precision NOT NULL,
    best_monthly_savings double precision NOT NULL,
    window_end          timestamptz NOT NULL,
    generated_at        timestamptz NOT NULL,
    payload             jsonb NOT NULL
);
CREATE INDEX commitment_reports_generated ON commitment_reports (generated_at DESC, account_id);

CREATE TABLE commitment_alerts (
    id           text PRIMARY KEY,
    account_id   text NOT NULL,
    arn          text NOT NULL,
    kind         text NOT NULL,
    reason       text NOT NULL,
    utilisation  double precision,
    end_at       timestamptz,
    detected_at  timestamptz NOT NULL,
    payload      jsonb NOT NULL
);
CREATE INDEX commitment_alerts_account_detected
    ON commitment_alerts (account_id, detected_at DESC, id DESC);
CREATE INDEX commitment_alerts_detected ON commitment_alerts (detected_at DESC, id DESC);
