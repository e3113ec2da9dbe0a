-- Key roles and secret rotation with a grace period (SPEC §16).
--
-- Roles: keys made before roles existed keep what they could do, so they become
-- `admin` (ADD COLUMN with a constant default fills existing rows without a
-- table rewrite); from then on a key is `standard` unless asked. Master keys
-- are always `admin` (the role only restricts project keys on /api/v1).
ALTER TABLE api_keys ADD COLUMN role text NOT NULL DEFAULT 'admin';
ALTER TABLE api_keys ALTER COLUMN role SET DEFAULT 'standard';
ALTER TABLE api_keys ADD CONSTRAINT api_keys_role_check
  CHECK (role IN ('admin', 'standard') AND (type = 'project' OR role = 'admin'));

-- The secret a rotation replaced, still accepted (live URLs) and still signing
-- (webhooks, next to the new one) until its expiry. One previous secret per
-- kind: a second rotation drops the first one's leftover at once.
ALTER TABLE projects
  ADD COLUMN previous_webhook_secret text,
  ADD COLUMN previous_webhook_secret_expires_at timestamptz,
  ADD COLUMN previous_live_signing_secret text,
  ADD COLUMN previous_live_signing_secret_expires_at timestamptz,
  ADD CONSTRAINT projects_previous_webhook_secret_check
    CHECK ((previous_webhook_secret IS NULL) = (previous_webhook_secret_expires_at IS NULL)),
  ADD CONSTRAINT projects_previous_live_signing_secret_check
    CHECK ((previous_live_signing_secret IS NULL) = (previous_live_signing_secret_expires_at IS NULL));
