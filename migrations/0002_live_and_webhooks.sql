-- Live URL scopes and cache entries (SPEC §7), webhook delivery log (SPEC §8).

CREATE TABLE live_scopes (
  id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id            uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  slug                  text NOT NULL,
  allow_new_generations boolean NOT NULL DEFAULT true,
  new_generations_limit integer NOT NULL DEFAULT 30,
  allowed_origins       jsonb NOT NULL DEFAULT '[]'::jsonb,
  require_signature     boolean NOT NULL DEFAULT false,
  meta                  jsonb NOT NULL DEFAULT '{}'::jsonb,
  current_generations   integer NOT NULL DEFAULT 0,
  last_generated_at     timestamptz,
  hit_count             bigint NOT NULL DEFAULT 0,
  miss_count            bigint NOT NULL DEFAULT 0,
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now(),
  UNIQUE (project_id, slug)
);

CREATE TABLE live_entries (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id    uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  scope_id      uuid NOT NULL REFERENCES live_scopes(id) ON DELETE CASCADE,
  cache_key     text NOT NULL,
  params        jsonb NOT NULL,
  generation_id uuid REFERENCES generations(id) ON DELETE SET NULL,
  image_id      uuid REFERENCES images(id) ON DELETE CASCADE,
  hit_count     bigint NOT NULL DEFAULT 0,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_hit_at   timestamptz,
  UNIQUE (project_id, cache_key)
);
CREATE INDEX live_entries_image_idx ON live_entries (image_id);
CREATE INDEX live_entries_scope_idx ON live_entries (scope_id);

ALTER TABLE generations ADD COLUMN live_scope_id uuid REFERENCES live_scopes(id) ON DELETE SET NULL;
CREATE INDEX generations_live_scope_idx ON generations (live_scope_id) WHERE live_scope_id IS NOT NULL;

CREATE TABLE webhook_deliveries (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id    uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  generation_id uuid NOT NULL REFERENCES generations(id) ON DELETE CASCADE,
  event         text NOT NULL,
  webhook_id    text NOT NULL,
  url           text NOT NULL,
  attempt       integer NOT NULL,
  status_code   integer,
  error         text,
  duration_ms   integer,
  succeeded     boolean NOT NULL DEFAULT false,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_generation_idx ON webhook_deliveries (generation_id, created_at);
CREATE UNIQUE INDEX webhook_deliveries_success_idx ON webhook_deliveries (webhook_id) WHERE succeeded;
