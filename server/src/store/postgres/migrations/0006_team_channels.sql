-- recert schema 6: a delivery channel can belong to a team (`recert notify add ... --team T`)
-- and then receives every member's alerts. A team's channel has `team_id` set and `holder_id`
-- 0, so the holder foreign key goes (the engine checks the holder or the team in the write's
-- transaction, as sled does), and the unique key names the team too, keeping its name so a
-- duplicate is still recognised by it.

ALTER TABLE channels DROP CONSTRAINT channels_holder_id_fkey;
ALTER TABLE channels ADD COLUMN team_id BIGINT NOT NULL DEFAULT 0;
ALTER TABLE channels DROP CONSTRAINT channels_holder_id_kind_target_key;
ALTER TABLE channels ADD CONSTRAINT channels_holder_id_kind_target_key
    UNIQUE (holder_id, team_id, kind, target);
CREATE INDEX channels_by_team ON channels (team_id) WHERE team_id <> 0;
