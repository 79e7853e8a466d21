-- Webhook signing secrets: rotatable (the previous one stays valid until
-- previous_secret_expires_at) and sealed at rest. The gateway seals plaintext
-- secrets left by 0001 at start-up: the key lives in settings, not in SQL.
-- depends: 0001_initial

ALTER TABLE subscriptions
    ADD COLUMN previous_secret            text,
    ADD COLUMN previous_secret_expires_at timestamptz,
    ADD COLUMN secret_rotated_at          timestamptz;
