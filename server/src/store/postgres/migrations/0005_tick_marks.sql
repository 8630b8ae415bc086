-- recert schema 5: what the alert tick reads instead of every holder of a zone.
-- `credentials.dues_month` is a credential's dues anniversary month (`domain::dues_month`),
-- indexed with its program, so the tick reads only the credentials whose dues can fall due in
-- its windows; `competencies_due` holds each holder's tracked competencies' next due days
-- (`catalog::competency_due_dates`); `dirty_holders` the holders written since the last tick
-- (one whose competency is already past due is evaluated once). The migration step fills
-- them from the rows' bodies (`PgStore::migrate`), marking every holder for the next tick.

ALTER TABLE credentials ADD COLUMN dues_month INT;
CREATE INDEX credentials_by_dues ON credentials (program, dues_month);

CREATE TABLE competencies_due (
    holder_id BIGINT NOT NULL REFERENCES holders (id) ON DELETE CASCADE,
    due_on INT NOT NULL,
    PRIMARY KEY (holder_id, due_on)
);
CREATE INDEX competencies_by_due ON competencies_due (due_on, holder_id);

CREATE TABLE dirty_holders (
    id BIGINT PRIMARY KEY
);
