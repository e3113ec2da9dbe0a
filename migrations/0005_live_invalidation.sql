-- Live URL cache invalidation (SPEC §7): API processes keep live entries in
-- memory and LISTEN on this channel, so a deleted entry (image deleted, scope
-- deleted: both cascade) or an image whose bytes changed (regenerated in place)
-- is dropped from every instance's memory at once.

CREATE FUNCTION banatie_live_entry_deleted() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('banatie_live', 'entry:' || OLD.project_id::text || ':' || OLD.cache_key);
  RETURN OLD;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER live_entries_notify_delete
  AFTER DELETE ON live_entries
  FOR EACH ROW EXECUTE FUNCTION banatie_live_entry_deleted();

CREATE FUNCTION banatie_live_image_changed() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('banatie_live', 'image:' || NEW.id::text);
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER images_notify_live_change
  AFTER UPDATE OF etag, storage_key ON images
  FOR EACH ROW
  WHEN (OLD.etag IS DISTINCT FROM NEW.etag OR OLD.storage_key IS DISTINCT FROM NEW.storage_key)
  EXECUTE FUNCTION banatie_live_image_changed();
