-- Which flow aliases point at an image: the poll (and the image views) asked
-- every flow of the project, and a project gets a flow per generation by
-- default, so the cost grew with the project's history. This index answers
-- `jsonb_path_query_array(aliases, '$.*') @> jsonb_build_array(<image id>)`.
-- fastupdate off: no pending list for every lookup to scan after a burst of
-- new (empty-aliased) flows.
CREATE INDEX flows_alias_values_idx ON flows USING gin (jsonb_path_query_array(aliases, '$.*')) WITH (fastupdate = off);
