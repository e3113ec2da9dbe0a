-- Project-wide daily cap on public live MISS generations (SPEC §11
-- `live.newGenerationsPerDay`). One row per project and UTC day, counted with a
-- conditional upsert in the same transaction as the scope's budget, so every
-- API instance sees one count and concurrent MISSes can never overspend it.
CREATE TABLE live_daily_usage (
  project_id  uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  day         date NOT NULL,
  generations integer NOT NULL CHECK (generations >= 0),
  PRIMARY KEY (project_id, day)
);
