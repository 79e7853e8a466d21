-- What a tenant's people decided about a recommendation: accepted, dismissed
-- (with a reason) or snoozed until a time; 'open' after a reset or a lapse.
-- decided_* hold what the person saw (finding, recommended action, monthly
-- savings) so a re-publication that changes it materially can undo the
-- decision (services/gateway/recommendation_state.py); lapse_reason says why.
-- Keyed by tenant: an account changing hands never carries decisions along.
-- depends: 0003_tenant_budget_alerts

CREATE TABLE recommendation_states (
    tenant_id        text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    resource_id      text NOT NULL,
    state            text NOT NULL
                     CHECK (state IN ('open', 'accepted', 'dismissed', 'snoozed')),
    reason           text,
    note             text,
    snoozed_until    timestamptz,
    decided_finding  text NOT NULL,
    decided_action   text NOT NULL,
    decided_savings  double precision NOT NULL,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    lapsed_at        timestamptz,
    lapse_reason     text,
    PRIMARY KEY (tenant_id, resource_id),
    CHECK ((state = 'snoozed') = (snoozed_until IS NOT NULL)),
    CHECK ((state = 'dismissed') = (reason IS NOT NULL))
);
CREATE INDEX recommendation_states_resource ON recommendation_states (resource_id)
    WHERE state IN ('accepted', 'dismissed');
