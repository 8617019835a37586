-- Care structure (issue 5 §2, §4): pseudonymous patients, wards, devices, and the attributes the
-- policy reads: ward admissions, staff ward assignments with shift hours, care relationships.
-- Ids are opaque text chosen by the application; nothing here names a person.

CREATE TABLE patients (
  id text PRIMARY KEY CHECK (id ~ '^[a-z0-9-]{3,64}$'),
  -- The account (OIDC subject) of the patient themself, when they have one.
  account_subject text UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE wards (
  id text PRIMARY KEY CHECK (id ~ '^[a-z0-9-]{3,64}$'),
  name text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- A patient is on at most one ward at a time.
CREATE TABLE ward_admissions (
  patient_id text PRIMARY KEY REFERENCES patients (id),
  ward_id text NOT NULL REFERENCES wards (id),
  admitted_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ward_admissions_ward ON ward_admissions (ward_id);

-- Staff ↔ ward, with the daily shift in the ward's time zone (minutes after midnight; a shift
-- whose end is before its start runs past midnight).
CREATE TABLE ward_assignments (
  subject text NOT NULL,
  ward_id text NOT NULL REFERENCES wards (id),
  shift_start_minute integer NOT NULL CHECK (shift_start_minute BETWEEN 0 AND 1439),
  shift_end_minute integer NOT NULL CHECK (shift_end_minute BETWEEN 0 AND 1440),
  time_zone text NOT NULL DEFAULT 'UTC',
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (subject, ward_id)
);

-- Clinician ↔ patient.
CREATE TABLE care_relationships (
  subject text NOT NULL,
  patient_id text NOT NULL REFERENCES patients (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (subject, patient_id)
);
CREATE INDEX care_relationships_patient ON care_relationships (patient_id);

CREATE TABLE devices (
  id text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{2,64}$'),
  model text NOT NULL,
  serial text NOT NULL,
  manufacturer text NOT NULL,
  patient_id text REFERENCES patients (id),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX devices_patient ON devices (patient_id);
