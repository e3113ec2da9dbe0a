-- Models, image sizes, search grounding and batches (SPEC §13).

-- A batch of generations (POST /api/v1/batches). Its status is derived from its
-- generations; `completed_at` is set once, by whoever sees the last item end, and
-- that write is what sends the single `batch.completed` webhook.
CREATE TABLE batches (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id      uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  tier            text NOT NULL CHECK (tier IN ('standard', 'batch')),
  total           integer NOT NULL,
  webhook_url     text,
  idempotency_key text,
  request_hash    text,
  cancelled_at    timestamptz,
  completed_at    timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX batches_project_created_idx ON batches (project_id, created_at DESC, id DESC);
CREATE UNIQUE INDEX batches_idempotency_idx ON batches (project_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- One Gemini Batch API job. The row exists before the job is submitted (its id
-- is the job's display name), and Gemini's name is stored as soon as it is
-- known, so a worker that restarts finds the job instead of submitting it twice.
CREATE TABLE gemini_batches (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  model        text NOT NULL,
  name         text UNIQUE,
  state        text NOT NULL DEFAULT 'submitting'
                 CHECK (state IN ('submitting', 'running', 'succeeded', 'failed', 'cancelled', 'expired')),
  item_count   integer NOT NULL,
  -- Whoever holds the lease submits or polls it; an expired lease lets any worker take over.
  lease_until     timestamptz NOT NULL DEFAULT now(),
  submit_attempts integer NOT NULL DEFAULT 0,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  submitted_at timestamptz,
  completed_at timestamptz
);
CREATE INDEX gemini_batches_open_idx ON gemini_batches (state, lease_until) WHERE state IN ('submitting', 'running');

ALTER TABLE generations
  ADD COLUMN model              text,
  ADD COLUMN image_size         text,
  ADD COLUMN ground_with_search boolean NOT NULL DEFAULT false,
  ADD COLUMN batch_id           uuid REFERENCES batches(id) ON DELETE SET NULL,
  ADD COLUMN gemini_batch_id    uuid REFERENCES gemini_batches(id) ON DELETE SET NULL,
  -- Batch tier through the provider's batch API: no queue job; the batch runner owns the row.
  ADD COLUMN provider_batch     boolean NOT NULL DEFAULT false;
CREATE INDEX generations_batch_idx ON generations (batch_id, created_at) WHERE batch_id IS NOT NULL;
CREATE INDEX generations_gemini_batch_idx ON generations (gemini_batch_id) WHERE gemini_batch_id IS NOT NULL;
CREATE INDEX generations_provider_batch_waiting_idx ON generations (model, created_at)
  WHERE provider_batch AND gemini_batch_id IS NULL AND status = 'pending';

-- `batch.completed` deliveries are recorded like a generation's, against the batch.
ALTER TABLE webhook_deliveries
  ALTER COLUMN generation_id DROP NOT NULL,
  ADD COLUMN batch_id uuid REFERENCES batches(id) ON DELETE CASCADE;
