-- Data-subject rights (PIPL Art. 46–47): erasure tombstones, legal holds, corrections, exports (PostgreSQL).
-- An erased record keeps its row as the tombstone (id, patient, erasure time, legal basis);
-- its versions keep their ledger leaf index but lose their wrapped data key and salt.
ALTER TABLE records ADD COLUMN erased_at TIMESTAMPTZ;
ALTER TABLE records ADD COLUMN erasure_basis TEXT;
-- Why an administrator executed it (a request reference; never personal data).
ALTER TABLE records ADD COLUMN erasure_reason TEXT;
-- A legal hold (set by an administrator, e.g. during a dispute) blocks erasure.
ALTER TABLE records ADD COLUMN hold_reason TEXT;
ALTER TABLE records ADD COLUMN hold_set_by UUID REFERENCES users (id);
ALTER TABLE records ADD COLUMN hold_set_at TIMESTAMPTZ;

-- Corrections (PIPL Art. 46): a patient proposes a change to a record; a doctor with write
-- consent accepts it (a new version, the older ones kept and superseded) or rejects it.
-- The proposed content is encrypted in the vault like a record version; `proposal` holds
-- its sealed metadata ('' once the record is erased).
CREATE TABLE correction_requests (
    id              UUID PRIMARY KEY,
    record_id       UUID NOT NULL REFERENCES records (id),
    patient_id      UUID NOT NULL REFERENCES users (id),
    base_version    BIGINT NOT NULL,
    content_type    TEXT NOT NULL,
    proposal        TEXT NOT NULL,
    reason          TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'rejected')),
    decided_by      UUID REFERENCES users (id),
    decision_reason TEXT,
    new_version     BIGINT,
    created_at      TIMESTAMPTZ NOT NULL,
    decided_at      TIMESTAMPTZ
);
CREATE INDEX correction_requests_record_idx ON correction_requests (record_id, created_at);
CREATE INDEX correction_requests_patient_idx ON correction_requests (patient_id, created_at);
-- The correction a version came from, if any (its reason is the request's).
ALTER TABLE record_versions ADD COLUMN correction_id UUID REFERENCES correction_requests (id);

-- Exports (PIPL Art. 45): a patient's copy of everything held about them, built in the
-- background. The archive is encrypted in the vault; `sealed` holds its metadata.
CREATE TABLE export_jobs (
    id          UUID PRIMARY KEY,
    patient_id  UUID NOT NULL REFERENCES users (id),
    status      TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
    sealed      TEXT,
    size_bytes  BIGINT,
    sha256      TEXT,
    error       TEXT,
    created_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ
);
CREATE INDEX export_jobs_patient_idx ON export_jobs (patient_id, created_at);
