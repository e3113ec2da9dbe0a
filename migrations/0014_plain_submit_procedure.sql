-- The plain submit (admission, model defaults, flow, generation) as one
-- PL/pgSQL procedure, for two reasons measured under issue 15:
--
-- 1. Planning. Sent as an unnamed statement, PostgreSQL parsed and planned the
--    submit's CTEs on every call: ~0.3 of its ~0.7 ms of CPU. A routine's plans
--    are cached by each server connection (the poll's 0006 does the same), which
--    also holds behind PgBouncer in transaction mode, where named prepared
--    statements would not.
-- 2. Row locks of the limits. A project with limits serialises its admissions on
--    a row (its limits row in 0012; the day's counter below), and a row lock is
--    held until commit, that is through the commit's WAL flush: one flush after
--    another, a third of the submits per second. Here the admission is its own
--    transaction, committed without waiting for the flush (synchronous_commit off
--    for it alone), so the lock is held for microseconds. Nothing is lost by it:
--    the generation's own commit waits for the flush, and WAL is flushed in order,
--    so a durable generation always has its durable count. A crash between the two
--    leaves a count without a generation (one refused early at the day's end),
--    never the reverse.

-- One more admission on a known day counter below p_max (false: the counter is
-- unknown or at the cap). Atomic: a racing admission waits for the row and re-checks.
CREATE FUNCTION banatie_count_admission(p_project uuid, p_day date, p_max integer)
RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  UPDATE project_usage_days d SET generations = d.generations + 1
    WHERE d.project_id = p_project AND d.day = p_day AND d.generations < p_max;
  RETURN FOUND;
END
$$;

-- The admission (0012) without the limits' row lock in the common case: while the
-- day's counter is known and below the limit, one conditional UPDATE adds one
-- under the counter row's own lock (PostgreSQL re-checks the condition after a
-- wait, so racing admissions at the cap cannot both pass). The limits row is
-- locked, as before, only when the counter is unknown (first limited admission of
-- the day, or limits just changed) or the cap is reached. The month's cost is read
-- without a lock: submits do not change it (workers do, as calls are billed).
CREATE OR REPLACE FUNCTION banatie_admit_generation(p_project uuid, p_at timestamptz, p_lock boolean DEFAULT true)
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
  IF NOT p_lock THEN
    SELECT d.generations INTO used FROM project_usage_days d WHERE d.project_id = p_project AND d.day = today;
    IF used IS NULL THEN
      SELECT count(*) INTO used FROM generations g
        WHERE g.project_id = p_project AND g.created_at >= day_start AND g.created_at < day_start + interval '1 day';
    END IF;
    RETURN CASE WHEN used >= lim.generations_per_day THEN 'day' ELSE 'ok' END;
  END IF;
  IF banatie_count_admission(p_project, today, lim.generations_per_day) THEN
    RETURN 'ok';
  END IF;
  -- The counter is unknown, or at the cap: under the limits row's lock, try again, then count the day's rows.
  SELECT * INTO lim FROM project_limits WHERE project_id = p_project FOR UPDATE;
  IF NOT FOUND OR lim.generations_per_day IS NULL THEN
    RETURN 'ok';
  END IF;
  IF banatie_count_admission(p_project, today, lim.generations_per_day) THEN
    RETURN 'ok';
  END IF;
  SELECT d.generations INTO used FROM project_usage_days d WHERE d.project_id = p_project AND d.day = today;
  IF used IS NOT NULL THEN
    RETURN 'day';
  END IF;
  -- Unknown: only admissions holding this lock write a missing or NULL counter.
  SELECT count(*) INTO used FROM generations g
    WHERE g.project_id = p_project AND g.created_at >= day_start AND g.created_at < day_start + interval '1 day';
  IF used >= lim.generations_per_day THEN
    RETURN 'day';
  END IF;
  INSERT INTO project_usage_days (project_id, day, generations) VALUES (p_project, today, used + 1)
    ON CONFLICT (project_id, day) DO UPDATE SET generations = excluded.generations;
  RETURN 'ok';
END
$$;

-- CALL it outside a transaction block (it commits). out_generation is the row as
-- jsonb (NULL: no such project, or refused), out_admission the verdict.
CREATE PROCEDURE banatie_submit_plain_generation(
  INOUT out_generation jsonb, INOUT out_admission text,
  p_project uuid, p_new_flow boolean, p_prompt text, p_auto_enhance boolean, p_template text,
  p_aspect_ratio text, p_alias text, p_flow_alias text, p_meta jsonb, p_webhook_url text,
  p_live_scope uuid, p_model text, p_image_size text, p_ground_with_search boolean,
  p_model_sizes jsonb, p_default_model text, p_at timestamptz, p_deadline_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
  v_settings jsonb;
  v_model text;
  v_flow uuid;
BEGIN
  IF EXISTS (SELECT 1 FROM project_limits l WHERE l.project_id = p_project
             AND (l.generations_per_day IS NOT NULL OR l.monthly_cost_usd IS NOT NULL)) THEN
    PERFORM set_config('synchronous_commit', 'off', true);
    out_admission := banatie_admit_generation(p_project, p_at);
    COMMIT;
    IF out_admission <> 'ok' THEN
      RETURN;
    END IF;
  ELSE
    out_admission := 'ok';
  END IF;

  SELECT pr.settings INTO v_settings FROM projects pr WHERE pr.id = p_project;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  v_model := COALESCE(p_model,
    CASE WHEN p_model_sizes ? (v_settings->>'defaultModel') THEN v_settings->>'defaultModel' END,
    p_default_model);
  IF p_new_flow THEN
    INSERT INTO flows (project_id) VALUES (p_project) RETURNING id INTO v_flow;
  END IF;
  INSERT INTO generations (
    project_id, flow_id, prompt, original_prompt, auto_enhance, template, aspect_ratio,
    reference_images, requested_references, alias, flow_alias, meta, webhook_url,
    idempotency_key, live_scope_id, request_hash, model, image_size, ground_with_search, created_at, updated_at, deadline_at)
  VALUES (p_project, v_flow, p_prompt, p_prompt,
    COALESCE(p_auto_enhance, (v_settings->>'autoEnhanceDefault')::boolean, true), p_template,
    COALESCE(p_aspect_ratio, v_settings->>'defaultAspectRatio', '1:1'),
    '[]'::jsonb, '[]'::jsonb, p_alias, p_flow_alias, p_meta, p_webhook_url,
    NULL, p_live_scope, NULL, v_model,
    COALESCE(p_image_size,
      CASE WHEN (p_model_sizes -> v_model) ? (v_settings->>'defaultImageSize') THEN v_settings->>'defaultImageSize'
           ELSE p_model_sizes -> v_model ->> 0 END),
    p_ground_with_search, p_at, p_at, p_deadline_at)
  RETURNING to_jsonb(generations.*) INTO out_generation;
END
$$;
