-- recert schema 4: alerts about more than a credential's cycle (a competency, dues, a team
-- digest). The outbox's unique key becomes the alert's key text (`Alert::key`), which names
-- its subject, instead of (credential_id, expires_on, threshold_days); `subject` lets a
-- credential's cycle be read without its dues. Every alert before this schema is a
-- credential's: the migration step fills `dedupe_key` from each row's body, then makes it
-- NOT NULL and unique and drops the old constraint (`PgStore::migrate`).

ALTER TABLE alerts ADD COLUMN subject TEXT NOT NULL DEFAULT 'credential';
ALTER TABLE alerts ADD COLUMN dedupe_key TEXT;
