-- Issue 15 part A (SPEC §12): deadlines, waiting for provider quota, per-project concurrency.

-- When an unfinished generation fails (submit + GENERATION_DEADLINE_MS, or sooner with Cancel-After).
-- NULL on rows created before this migration: they keep no deadline.
ALTER TABLE generations ADD COLUMN deadline_at timestamptz;
-- True while the run waits for provider quota (a 429 pause or PROVIDER_RATE_LIMITS): past the
-- deadline it fails with RATE_LIMITED instead of DEADLINE_EXCEEDED.
ALTER TABLE generations ADD COLUMN waiting_for_quota boolean NOT NULL DEFAULT false;

-- The sweeper's deadline scan: only unfinished rows with a deadline.
CREATE INDEX generations_deadline_idx ON generations (deadline_at)
  WHERE status IN ('pending', 'processing') AND deadline_at IS NOT NULL;
