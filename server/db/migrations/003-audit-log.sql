-- The append-only, hash-chained audit log (issue 5 §6). `audit_head` holds the last seq and hash
-- with a MAC under a key derived from the master key, so cutting the tail is detected; appends
-- lock that one row, so several instances append in one order.

CREATE TABLE audit_log (
  seq bigint PRIMARY KEY CHECK (seq >= 1),
  at timestamptz NOT NULL,
  actor text NOT NULL,
  action text NOT NULL,
  resource text NOT NULL,
  decision text NOT NULL,
  reason text,
  -- Canonical JSON of the event's detail, exactly as hashed.
  detail text NOT NULL,
  prev_hash bytea NOT NULL,
  hash bytea NOT NULL
);

CREATE TABLE audit_head (
  id smallint PRIMARY KEY CHECK (id = 1),
  seq bigint NOT NULL,
  hash bytea NOT NULL,
  mac bytea
);
INSERT INTO audit_head (id, seq, hash, mac) VALUES (1, 0, '\x0000000000000000000000000000000000000000000000000000000000000000', NULL);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only';
END
$$;

CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
