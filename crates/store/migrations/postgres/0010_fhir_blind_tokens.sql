-- FHIR token codes become keyed hashes (a blind index): a database reader no longer learns
-- which diagnosis or test codes a patient has. The key is sealed by the vault like every
-- other secret (one row; its data key is re-wrapped by key rotation).
CREATE TABLE fhir_index_keys (
    id        UUID PRIMARY KEY,
    singleton INTEGER NOT NULL DEFAULT 1 UNIQUE CHECK (singleton = 1),
    sealed    TEXT NOT NULL
);

-- The codes stored in clear until now go; each resource's tokens are written again, hashed,
-- at the next start (its row is marked once they are).
DELETE FROM fhir_tokens;
ALTER TABLE fhir_resources ADD COLUMN tokens_hashed INTEGER NOT NULL DEFAULT 0;
CREATE INDEX fhir_resources_unhashed_idx ON fhir_resources (tokens_hashed, record_id);
