-- Identity (issue 5 §3): local accounts, sign-in throttling, the OpenID provider's models,
-- its signing keys and the DPoP proof replay cache. Secrets are sealed (server/identity/sealed-secret.ts).

CREATE TABLE identity_accounts (
  id text PRIMARY KEY,
  username text NOT NULL UNIQUE,
  display_name text NOT NULL,
  roles text[] NOT NULL DEFAULT '{}' CHECK (roles <@ ARRAY['patient', 'nurse', 'clinician', 'admin', 'auditor']::text[]),
  password_hash text NOT NULL,
  disabled boolean NOT NULL DEFAULT false,
  totp_secret bytea,
  totp_last_step bigint,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Failures per attempted username (hashed), whether or not the account exists: the lockout
-- behaves the same for unknown names, so it says nothing about which names exist.
CREATE TABLE identity_login_throttle (
  username_hash text PRIMARY KEY,
  failures integer NOT NULL DEFAULT 0,
  locked_until timestamptz,
  last_failure_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE identity_address_attempts (
  address text NOT NULL,
  window_start timestamptz NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  PRIMARY KEY (address, window_start)
);

-- oidc-provider models (sessions, interactions, codes, tokens, grants, replay detection).
CREATE TABLE identity_oidc_models (
  model text NOT NULL,
  id text NOT NULL,
  payload jsonb NOT NULL,
  grant_id text,
  user_code text,
  uid text,
  consumed_at timestamptz,
  expires_at timestamptz,
  PRIMARY KEY (model, id)
);
CREATE INDEX identity_oidc_models_grant ON identity_oidc_models (grant_id) WHERE grant_id IS NOT NULL;
CREATE INDEX identity_oidc_models_uid ON identity_oidc_models (model, uid) WHERE uid IS NOT NULL;
CREATE INDEX identity_oidc_models_user_code ON identity_oidc_models (model, user_code) WHERE user_code IS NOT NULL;
CREATE INDEX identity_oidc_models_expiry ON identity_oidc_models (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE identity_signing_keys (
  kid text PRIMARY KEY,
  alg text NOT NULL,
  public_jwk jsonb NOT NULL,
  sealed_private_jwk bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  retired_at timestamptz
);

-- DPoP proofs seen at the API (RFC 9449 §11.1), kept until they could no longer be fresh.
CREATE TABLE identity_dpop_proofs (
  proof_id text PRIMARY KEY,
  expires_at timestamptz NOT NULL
);
CREATE INDEX identity_dpop_proofs_expiry ON identity_dpop_proofs (expires_at);
