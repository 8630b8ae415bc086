-- recert schema 2: tokens (found by the hash of their secret), teams, and the audit trail.
-- Bodies are the kinds' versioned storage messages, as in schema 1.

CREATE SEQUENCE token_ids START 1;
CREATE SEQUENCE team_ids START 1;
CREATE SEQUENCE history_ids START 1;

CREATE TABLE tokens (
    id BIGINT PRIMARY KEY,
    hash BYTEA NOT NULL,
    body BYTEA NOT NULL,
    CONSTRAINT tokens_hash_key UNIQUE (hash)
);

CREATE TABLE teams (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    body BYTEA NOT NULL,
    CONSTRAINT teams_name_key UNIQUE (name)
);

-- Not a foreign key on holders: a deleted holder's history stays.
CREATE TABLE history (
    id BIGINT PRIMARY KEY,
    holder_id BIGINT,
    body BYTEA NOT NULL
);
CREATE INDEX history_by_holder ON history (holder_id, id);
