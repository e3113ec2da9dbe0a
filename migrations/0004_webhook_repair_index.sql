-- The sweeper looks for recently settled generations whose webhook was never
-- attempted (lost between commit and enqueue); this keeps that scan off the table.
CREATE INDEX generations_settled_updated_idx ON generations (updated_at) WHERE status IN ('success', 'failed', 'cancelled');
