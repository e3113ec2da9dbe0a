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
-- cost limit sums at most 31 rows instead of a month of calls. `generations`
-- counts the day's admitted generations while the project has limits (NULL:
-- not counted yet; the first limited admission of the day counts the rows).
CREATE TABLE project_usage_days (
  project_id uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  day date NOT NULL,
  cost_usd numeric(20, 10) NOT NULL DEFAULT 0,
  generations integer,
  PRIMARY KEY (project_id, day)
);

-- Limits set by the operator (SPEC §12); null = unlimited. No row: no limits.
CREATE TABLE project_limits (
  project_id uuid PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
  generations_per_day integer CHECK (generations_per_day >= 0),
  monthly_cost_usd numeric(20, 10) CHECK (monthly_cost_usd >= 0),
  max_concurrency integer CHECK (max_concurrency >= 1),
  updated_at timestamptz NOT NULL
);

-- May one more generation of the project be created at p_at? 'ok', 'day'
-- (generationsPerDay reached) or 'month' (monthlyCostUsd reached). A project
-- without limits costs one primary-key probe. With limits and p_lock, the
-- limits row stays locked until the caller's transaction ends, so admissions
-- of one project are serialised across API instances, and an admission adds
-- one to the day's counter in that transaction: racing submits at the cap
-- cannot both pass, and a rolled-back submit takes its count back with it.
-- The caller inserts the generation in the same transaction (or statement).
-- p_lock false: a read-only pre-check that counts nothing.
CREATE FUNCTION banatie_admit_generation(p_project uuid, p_at timestamptz, p_lock boolean DEFAULT true)
RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  lim project_limits%ROWTYPE;
  day_start timestamptz := date_trunc('day', p_at, 'UTC');
  today date := date_trunc('day', p_at, 'UTC')::date;
  month_start date := date_trunc('month', p_at, 'UTC')::date;
  used bigint;
  spent numeric;
BEGIN
  SELECT * INTO lim FROM project_limits WHERE project_id = p_project;
  IF NOT FOUND OR (lim.generations_per_day IS NULL AND lim.monthly_cost_usd IS NULL) THEN
    RETURN 'ok';
  END IF;
  IF p_lock THEN
    SELECT * INTO lim FROM project_limits WHERE project_id = p_project FOR UPDATE;
  END IF;
  IF lim.monthly_cost_usd IS NOT NULL THEN
    SELECT COALESCE(sum(d.cost_usd), 0) INTO spent FROM project_usage_days d
      WHERE d.project_id = p_project AND d.day >= month_start AND d.day < (month_start + interval '1 month')::date;
    IF spent >= lim.monthly_cost_usd THEN
      RETURN 'month';
    END IF;
  END IF;
  IF lim.generations_per_day IS NULL THEN
    RETURN 'ok';
  END IF;
  SELECT d.generations INTO used FROM project_usage_days d WHERE d.project_id = p_project AND d.day = today;
  IF used IS NULL THEN
    SELECT count(*) INTO used FROM generations g
      WHERE g.project_id = p_project AND g.created_at >= day_start AND g.created_at < day_start + interval '1 day';
  END IF;
  IF used >= lim.generations_per_day THEN
    RETURN 'day';
  END IF;
  IF p_lock THEN
    INSERT INTO project_usage_days (project_id, day, generations) VALUES (p_project, today, used + 1)
      ON CONFLICT (project_id, day) DO UPDATE SET generations = excluded.generations;
  END IF;
  RETURN 'ok';
END
$$;
