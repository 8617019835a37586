-- Ingestion of sealed batches and the provenance of readings (issue 5 §7; protocol §11, §8.4).
-- The readings themselves go to `observations` (encrypted per patient); these tables hold what
-- ingestion needs beside them: which batches were received (idempotency), the sensors' signed
-- checkpoints, each sensor's recomputed hash chain, and the spans of readings a checkpoint decided.

-- One row per batch id, written in the transaction that stores its readings: a batch delivered
-- again gets the stored answer and stores nothing twice.
CREATE TABLE ingest_batches (
  batch_id bytea PRIMARY KEY CHECK (length(batch_id) = 16),
  key_id bytea NOT NULL,
  hub_id bytea NOT NULL,
  device_id text NOT NULL,
  -- Hub time when the batch was sealed.
  sealed_at timestamptz NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  record_count integer NOT NULL CHECK (record_count >= 1),
  -- The acknowledgement returned (counts only: no reading value).
  answer jsonb
);

-- Checkpoints whose signature verified under a trusted certificate of the device.
CREATE TABLE ingest_checkpoints (
  device_id text NOT NULL,
  seq bigint NOT NULL CHECK (seq >= 1),
  head bytea NOT NULL CHECK (length(head) = 32),
  signature bytea NOT NULL CHECK (length(signature) = 64),
  PRIMARY KEY (device_id, seq)
);

-- Each device's chain, recomputed from the records in seq order: head after `frontier_seq`
-- records (re-anchored at each signed checkpoint), and the last checkpoint the frontier reached.
CREATE TABLE ingest_chains (
  device_id text PRIMARY KEY,
  frontier_seq bigint NOT NULL DEFAULT 0,
  frontier_head bytea NOT NULL,
  anchor_seq bigint NOT NULL DEFAULT 0
);

-- Heads the frontier passed at checkpoint-interval seqs, for a checkpoint that arrives late.
CREATE TABLE ingest_chain_heads (
  device_id text NOT NULL,
  seq bigint NOT NULL,
  head bytea NOT NULL,
  PRIMARY KEY (device_id, seq)
);

-- Readings (from_seq, to_seq] of a device, decided by the signed checkpoint at to_seq.
CREATE TABLE ingest_provenance_spans (
  device_id text NOT NULL,
  from_seq bigint NOT NULL,
  to_seq bigint NOT NULL CHECK (to_seq > from_seq),
  status text NOT NULL CHECK (status IN ('verified', 'unverified')),
  reason text,
  decided_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (device_id, to_seq)
);
