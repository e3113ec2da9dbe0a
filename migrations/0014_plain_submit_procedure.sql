-- The plain submit (admission, model defaults, flow, generation) as one
-- PL/pgSQL procedure, for two reasons measured under issue 15:
--
-- 1. Planning. Sent as an unnamed statement, PostgreSQL parsed and planned the
--    submit's CTEs on every call: ~0.3 of its ~0.7 ms of CPU. A routine's plans
--    are cached by each server connection (the poll's 0006 does the same), which
--    also holds behind PgBouncer in transaction mode, where named prepared
--    statements would not.
-- 2. The limits' row lock. A project with limits serialises its admissions on
--    its project_limits row, and a lock is held until commit, that is through
--    the commit's WAL flush: one flush after another, a third of the submits per
--    second. Here the admission is its own transaction, committed without
--    waiting for the flush (synchronous_commit off for it alone), so the lock is
--    held for microseconds. Nothing is lost by it: the generation's own commit
--    waits for the flush, and WAL is flushed in order, so a durable generation
--    always has its durable count. A crash between the two leaves a count
--    without a generation (one refused early at the day's end), never the reverse.
--
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
