-- CDN variants (SPEC §11): every stored rendition of an image has a row, so
-- the per-image cap (CDN_VARIANTS_PER_IMAGE) is counted in one place and
-- enforced race-safely (reservations lock the image row). Rows go with the
-- image (cascade) and whenever the renditions become stale: new bytes
-- (regeneration) or a new focal point (cover crops move).

CREATE TABLE image_variants (
  image_id    uuid NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  variant_id  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (image_id, variant_id)
);

CREATE FUNCTION banatie_image_variants_stale() RETURNS trigger AS $$
BEGIN
  DELETE FROM image_variants WHERE image_id = NEW.id;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER images_drop_stale_variants
  AFTER UPDATE OF etag, focal_point ON images
  FOR EACH ROW
  WHEN (OLD.etag IS DISTINCT FROM NEW.etag OR OLD.focal_point IS DISTINCT FROM NEW.focal_point)
  EXECUTE FUNCTION banatie_image_variants_stale();
