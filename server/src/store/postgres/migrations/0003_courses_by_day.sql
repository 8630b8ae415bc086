-- recert schema 3: a course's completion day as a column, indexed with its holder, so
-- `Records::courses_on` (a course logged twice?) reads one day's courses, not all of them.
-- The migration step fills the column from each row's body before it is made NOT NULL
-- (`PgStore::migrate`), since the day lives inside the storage message.

ALTER TABLE courses ADD COLUMN completed_on INT;
CREATE INDEX courses_by_day ON courses (holder_id, completed_on);
