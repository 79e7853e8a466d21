-- Tenant-owned budget alerts and budget coverage.
-- A budget alert belongs to the tenant that owns the budget (looked up here, not
-- taken from the event), so a tenant-wide budget's alert, which names no single
-- account, reaches exactly that tenant. published_accounts records the coverage
-- last sent to the forecast service, so a change of the tenant's accounts is
-- noticed and the budget re-published (NULL: never published with coverage).
-- depends: 0002_secret_rotation

ALTER TABLE budget_alerts ADD COLUMN tenant_id text;
ALTER TABLE alert_outbox ADD COLUMN tenant_id text;
CREATE INDEX alert_outbox_tenant ON alert_outbox (tenant_id, seq) WHERE tenant_id IS NOT NULL;
ALTER TABLE budgets ADD COLUMN published_accounts text[];
