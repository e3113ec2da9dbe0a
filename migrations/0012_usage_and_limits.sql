-- Usage, prices and limits (issue 15, SPEC §12).

-- Totals of a generation's provider calls, for the generation object's `usage`
-- (read with the row: no join on the poll path). Constant defaults: no table rewrite.
ALTER TABLE generations
  ADD COLUMN usage_provider_calls integer NOT NULL DEFAULT 0,
  ADD COLUMN usage_input_tokens bigint NOT NULL DEFAULT 0,
  ADD COLUMN usage_output_tokens bigint NOT NULL DEFAULT 0,
  ADD COLUMN usage_thought_tokens bigint NOT NULL DEFAULT 0,
  ADD COLUMN usage_cost_usd numeric(20, 10) NOT NULL DEFAULT 0;

-- One row per billed provider call, written in the same statement or
-- transaction as the state change it belongs to.
CREATE TABLE usage_records (
  id bigserial PRIMARY KEY,
  project_id uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  generation_id uuid REFERENCES generations (id) ON DELETE SET NULL,
  source text NOT NULL CHECK (source IN ('api', 'live', 'batch')),
  operation text NOT NULL,
  model text NOT NULL,
  image_size text,
  tier text NOT NULL CHECK (tier IN ('standard', 'batch')),
  input_tokens integer NOT NULL,
  output_tokens integer NOT NULL,
  thought_tokens integer NOT NULL,
  cost_usd numeric(20, 10) NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE INDEX usage_records_project_created_idx ON usage_records (project_id, created_at);
CREATE INDEX usage_records_created_idx ON usage_records (created_at);
CREATE INDEX usage_records_generation_idx ON usage_records (generation_id);

-- Cost per project and UTC day, kept with every usage record: the monthly
-- cost limit sums at most 31 rows instead of a month of calls.
CREATE TABLE project_usage_days (
  project_id uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  day date NOT NULL,
  cost_usd numeric(20, 10) NOT NULL DEFAULT 0,
  PRIMARY KEY (project_id, day)
);
