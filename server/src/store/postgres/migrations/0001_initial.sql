-- recert schema 1 on PostgreSQL (and PostgreSQL-wire databases such as CockroachDB).
-- Each record is its kind's versioned storage message in `body` (the same encoding as the
-- sled engine); the columns beside it are what queries select and order by, and what the
-- constraints hold. `recertd check` compares every column with its decoded body.

CREATE TABLE recert_meta (
    key TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);

CREATE SEQUENCE holder_ids START 1;
CREATE SEQUENCE credential_ids START 1;
CREATE SEQUENCE course_ids START 1;
CREATE SEQUENCE alert_ids START 1;
CREATE SEQUENCE channel_ids START 1;

CREATE TABLE holders (
    id BIGINT PRIMARY KEY,
    time_zone TEXT NOT NULL,
    body BYTEA NOT NULL
);
CREATE INDEX holders_by_zone ON holders (time_zone);

CREATE TABLE programs (
    slug TEXT PRIMARY KEY,
    body BYTEA NOT NULL
);

CREATE TABLE credentials (
    id BIGINT PRIMARY KEY,
    holder_id BIGINT NOT NULL REFERENCES holders (id),
    program TEXT NOT NULL,
    expires_on INT NOT NULL,
    body BYTEA NOT NULL,
    UNIQUE (holder_id, program)
);
CREATE INDEX credentials_by_expiry ON credentials (expires_on, id);
CREATE INDEX credentials_by_program ON credentials (program);

CREATE TABLE courses (
    id BIGINT PRIMARY KEY,
    holder_id BIGINT NOT NULL REFERENCES holders (id),
    body BYTEA NOT NULL
);
CREATE INDEX courses_by_holder ON courses (holder_id, id);

CREATE TABLE channels (
    id BIGINT PRIMARY KEY,
    holder_id BIGINT NOT NULL REFERENCES holders (id),
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    body BYTEA NOT NULL,
    UNIQUE (holder_id, kind, target)
);

CREATE TABLE alerts (
    id BIGINT PRIMARY KEY,
    holder_id BIGINT NOT NULL,
    credential_id BIGINT NOT NULL,
    expires_on INT NOT NULL,
    threshold_days BIGINT NOT NULL,
    next_attempt BIGINT,
    body BYTEA NOT NULL,
    UNIQUE (credential_id, expires_on, threshold_days)
);
CREATE INDEX alerts_by_holder ON alerts (holder_id, id);
CREATE INDEX alerts_by_next_attempt ON alerts (next_attempt, id);

CREATE TABLE alert_settings (
    scope TEXT PRIMARY KEY,
    body BYTEA NOT NULL
);

CREATE TABLE dirty_credentials (
    id BIGINT PRIMARY KEY
);

CREATE TABLE last_ticks (
    zone TEXT PRIMARY KEY,
    at BIGINT NOT NULL
);

CREATE TABLE versions (
    key TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);

CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
