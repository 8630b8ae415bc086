-- recert schema 7: a lab's own competency programs (`recert competency program add`), each
-- stored as its storage message under its slug. A slug of a built-in program replaces it.
-- The `versions` row `competency-programs` is what a program write moves and a holder write
-- locks FOR SHARE before it derives the holder's `competencies_due` rows, so the two never
-- interleave: a holder write reads the programs as a program write committed them, or
-- finishes before it (and the program write then rewrites the holder's rows).

CREATE TABLE competency_programs (
    slug TEXT PRIMARY KEY,
    body BYTEA NOT NULL
);
INSERT INTO versions (key, value) VALUES ('competency-programs', 0) ON CONFLICT (key) DO NOTHING;
