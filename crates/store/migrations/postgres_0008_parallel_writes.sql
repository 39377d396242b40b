-- Stream positions that concurrent writers can assign without a global lock.
--
-- An event's position is its transaction's id shifted left by 16 bits, with
-- the event's number within that transaction in the low bits, so positions
-- sort by transaction id, then by order within the transaction. Readers see
-- only events of transactions older than their snapshot's xmin: every such
-- transaction has ended, so nothing can later appear below what they read,
-- and a cursor stays exact while writers on many nodes commit in parallel.
--
-- Positions stay below 2^53, exact in a JavaScript number, until the
-- database has used 2^37 transaction ids (over four years at 1,000 writer
-- batches a second).
--
-- Databases made before this migration hold positions from a counter; the
-- offset puts every new position above all of them.
DO $migration$
DECLARE
    xid_offset bigint;
BEGIN
    SELECT GREATEST(0, (COALESCE(MAX(pos), 0) >> 16) + 1 - pg_current_xact_id()::text::bigint)
      INTO xid_offset FROM events;
    EXECUTE format(
        'CREATE FUNCTION qiao_xid_pos(xid bigint) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS %L',
        format('SELECT (xid + %s) << 16', xid_offset));
END
$migration$;

-- The position of the `n`th event of the current transaction.
CREATE FUNCTION qiao_event_pos(n bigint) RETURNS bigint LANGUAGE sql VOLATILE AS
    'SELECT qiao_xid_pos(pg_current_xact_id()::text::bigint) | n';

-- Positions below this are final for the calling statement's snapshot:
-- STABLE, so it reads the snapshot of the query that calls it.
CREATE FUNCTION qiao_visible_below() RETURNS bigint LANGUAGE sql STABLE AS
    'SELECT qiao_xid_pos(pg_snapshot_xmin(pg_current_snapshot())::text::bigint)';

ALTER TABLE events ALTER COLUMN pos DROP IDENTITY IF EXISTS;
