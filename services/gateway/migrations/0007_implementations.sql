-- Savings proven (rightsizing's implementations topic): per instance, the
-- recommendation inventory showed carried out, its estimate, and the monthly
-- saving the CUR shows after the change. A row only moves forward: a later
-- measurement (measured_through), then a later generated_at.
-- depends: 0006_commitments

CREATE TABLE implementations (
    resource_id          text PRIMARY KEY,
    event_id             text NOT NULL,
    account_id           text NOT NULL,
    region               text NOT NULL,
    recommendation_id    text NOT NULL,
    kind                 text NOT NULL,
    implemented_at       timestamptz NOT NULL,
    estimated_monthly_savings double precision NOT NULL,
    realised_monthly_savings  double precision,
    measured_through     timestamptz,
    generated_at         timestamptz NOT NULL,
    payload              jsonb NOT NULL
);
CREATE INDEX implementations_account_implemented
    ON implementations (account_id, implemented_at DESC, resource_id);
