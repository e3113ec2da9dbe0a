-- Banatie initial schema. Never edit once applied; add a new numbered file.

CREATE TABLE organizations (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  slug       text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE projects (
  id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id     uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  slug                text NOT NULL,
  settings            jsonb NOT NULL DEFAULT '{}'::jsonb,
  webhook_secret      text NOT NULL,
  live_signing_secret text NOT NULL,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  UNIQUE (organization_id, slug)
);

CREATE TABLE api_keys (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id   uuid REFERENCES projects(id) ON DELETE CASCADE,
  type         text NOT NULL CHECK (type IN ('master', 'project')),
  name         text,
  prefix       text NOT NULL,
  key_hash     text NOT NULL UNIQUE,
  expires_at   timestamptz,
  revoked_at   timestamptz,
  last_used_at timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now(),
  CHECK ((type = 'master') = (project_id IS NULL))
);
CREATE INDEX api_keys_project_idx ON api_keys (project_id);

CREATE TABLE flows (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  aliases    jsonb NOT NULL DEFAULT '{}'::jsonb,
  meta       jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX flows_project_created_idx ON flows (project_id, created_at DESC);

CREATE TABLE generations (
  id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id         uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  flow_id            uuid REFERENCES flows(id) ON DELETE SET NULL,
  status             text NOT NULL DEFAULT 'pending'
                       CHECK (status IN ('pending', 'processing', 'success', 'failed', 'cancelled')),
  prompt             text NOT NULL,
  original_prompt    text NOT NULL,
  auto_enhance       boolean NOT NULL,
  template           text NOT NULL,
  aspect_ratio       text NOT NULL,
  reference_images   jsonb NOT NULL DEFAULT '[]'::jsonb,
  requested_references jsonb NOT NULL DEFAULT '[]'::jsonb,
  alias              text,
  flow_alias         text,
  output_image_id    uuid,
  error_code         text,
  error_message      text,
  attempts           integer NOT NULL DEFAULT 0,
  run                integer NOT NULL DEFAULT 0,
  processing_time_ms integer,
  meta               jsonb NOT NULL DEFAULT '{}'::jsonb,
  webhook_url        text,
  idempotency_key    text,
  request_hash       text,
  created_at         timestamptz NOT NULL DEFAULT now(),
  started_at         timestamptz,
  completed_at       timestamptz,
  updated_at         timestamptz NOT NULL DEFAULT now(),
  deleted_at         timestamptz
);
CREATE INDEX generations_project_created_idx ON generations (project_id, created_at DESC, id DESC);
CREATE INDEX generations_flow_idx ON generations (flow_id, created_at DESC);
CREATE INDEX generations_unsettled_idx ON generations (status, updated_at) WHERE status IN ('pending', 'processing');
CREATE UNIQUE INDEX generations_idempotency_idx ON generations (project_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;

CREATE TABLE images (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id    uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  flow_id       uuid REFERENCES flows(id) ON DELETE SET NULL,
  generation_id uuid REFERENCES generations(id) ON DELETE SET NULL,
  source        text NOT NULL CHECK (source IN ('generated', 'uploaded')),
  storage_key   text NOT NULL,
  mime_type     text NOT NULL,
  file_size     integer NOT NULL,
  width         integer NOT NULL,
  height        integer NOT NULL,
  alias         text,
  focal_point   jsonb,
  meta          jsonb NOT NULL DEFAULT '{}'::jsonb,
  version       integer NOT NULL DEFAULT 1,
  etag          text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX images_project_alias_idx ON images (project_id, alias) WHERE alias IS NOT NULL;
CREATE INDEX images_project_created_idx ON images (project_id, created_at DESC, id DESC);
CREATE INDEX images_flow_idx ON images (flow_id, created_at DESC);

ALTER TABLE generations
  ADD CONSTRAINT generations_output_image_fk
  FOREIGN KEY (output_image_id) REFERENCES images(id) ON DELETE SET NULL;
