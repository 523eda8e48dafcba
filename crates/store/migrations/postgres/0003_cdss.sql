-- Clinical decision support (PostgreSQL): NLP results beside note versions, observations that
-- feed the early-warning rules, and the alerts they raised. Clinical content of each row is
-- a vault SealedBlob (JSON: wrapped data key, nonce, ciphertext), never plaintext.

-- One NLP analysis per clinical-note record version; re-analysis replaces it.
CREATE TABLE nlp_results (
    record_id   UUID NOT NULL,
    version     BIGINT NOT NULL,
    sealed      TEXT NOT NULL,
    created_by  UUID NOT NULL REFERENCES users (id),
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (record_id, version),
    FOREIGN KEY (record_id, version) REFERENCES record_versions (record_id, version)
);

-- A batch of one patient's observations from one source (a vital-signs record version, the
-- measurements of a note version, a FHIR resource). observed_at is the batch's latest time.
CREATE TABLE observations (
    id          UUID PRIMARY KEY,
    patient_id  UUID NOT NULL REFERENCES users (id),
    source      TEXT NOT NULL CHECK (source IN ('record', 'note', 'fhir')),
    record_id   UUID,
    version     BIGINT,
    observed_at TIMESTAMPTZ NOT NULL,
    sealed      TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX observations_patient_idx ON observations (patient_id, observed_at);
-- A record version contributes its observations once, however often it is analysed.
CREATE UNIQUE INDEX observations_source_idx ON observations (record_id, version);

-- Early-warning alerts. rule/severity/band are plain for de-duplication and listing; the
-- explanation and the observations used are sealed. An alert is resolved when its rule no
-- longer fires (or fires with another band); only an unresolved one suppresses a repeat.
CREATE TABLE cdss_alerts (
    id          UUID PRIMARY KEY,
    patient_id  UUID NOT NULL REFERENCES users (id),
    rule        TEXT NOT NULL,
    severity    TEXT NOT NULL,
    band        TEXT NOT NULL,
    record_id   UUID,
    category    TEXT,
    sealed      TEXT NOT NULL,
    raised_at   TIMESTAMPTZ NOT NULL,
    resolved_at TIMESTAMPTZ
);
CREATE INDEX cdss_alerts_patient_idx ON cdss_alerts (patient_id, raised_at);
