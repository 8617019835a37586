-- Clinical data encrypted at rest (issue 5 §2, §5): one wrapped data key per patient, and one row
-- per reading whose value is an XChaCha20-Poly1305 box under that key. What stays in clear is
-- what search needs: patient, device, sequence, code, time, provenance.

CREATE TABLE patient_keys (
  patient_id text PRIMARY KEY REFERENCES patients (id),
  -- Which master key wraps it (the key provider's key id), so rotation can resume.
  master_key_id text NOT NULL,
  wrapped bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  rotated_at timestamptz
);

CREATE TABLE observations (
  device_id text NOT NULL REFERENCES devices (id),
  seq bigint NOT NULL CHECK (seq >= 1),
  patient_id text NOT NULL REFERENCES patients (id),
  code integer NOT NULL,
  observed_at timestamptz NOT NULL,
  -- nonce (24) ‖ ciphertext ‖ tag (16); associated data binds table, record id and patient.
  value bytea NOT NULL,
  provenance text NOT NULL CHECK (provenance IN ('verified', 'unverified')),
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (device_id, seq)
);
CREATE INDEX observations_search ON observations (patient_id, code, observed_at);
CREATE INDEX observations_time ON observations (patient_id, observed_at);

CREATE TABLE break_glass_grants (
  id text PRIMARY KEY,
  subject text NOT NULL,
  patient_id text NOT NULL REFERENCES patients (id),
  reason text NOT NULL CHECK (length(reason) BETWEEN 20 AND 2000),
  opened_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL
);
CREATE INDEX break_glass_active ON break_glass_grants (subject, patient_id, expires_at);
