-- Data-subject rights (PIPL Art. 46–47): erasure tombstones, legal holds, corrections, exports (SQLite).
-- An erased record keeps its row as the tombstone (id, patient, erasure time, legal basis);
-- its versions keep their ledger leaf index but lose their wrapped data key and salt.
ALTER TABLE records ADD COLUMN erased_at TEXT;
ALTER TABLE records ADD COLUMN erasure_basis TEXT;
-- Why an administrator executed it (a request reference; never personal data).
ALTER TABLE records ADD COLUMN erasure_reason TEXT;
-- A legal hold (set by an administrator, e.g. during a dispute) blocks erasure.
ALTER TABLE records ADD COLUMN hold_reason TEXT;
ALTER TABLE records ADD COLUMN hold_set_by BLOB REFERENCES users (id);
ALTER TABLE records ADD COLUMN hold_set_at TEXT;

-- Corrections (PIPL Art. 46): a patient proposes a change to a record; a doctor with write
-- consent accepts it (a new version, the older ones kept and superseded) or rejects it.
-- The proposed content is encrypted in the vault like a record version; `proposal` holds
-- its sealed metadata ('' once the record is erased).
CREATE TABLE correction_requests (
    id              BLOB PRIMARY KEY NOT NULL,
    record_id       BLOB NOT NULL REFERENCES records (id),
    patient_id      BLOB NOT NULL REFERENCES users (id),
    base_version    INTEGER NOT NULL,
    content_type    TEXT NOT NULL,
    proposal        TEXT NOT NULL,
    reason          TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'rejected')),
    decided_by      BLOB REFERENCES users (id),
    decision_reason TEXT,
    new_version     INTEGER,
    created_at      TEXT NOT NULL,
    decided_at      TEXT
) STRICT;
CREATE INDEX correction_requests_record_idx ON correction_requests (record_id, created_at);
CREATE INDEX correction_requests_patient_idx ON correction_requests (patient_id, created_at);
-- The correction a version came from, if any (its reason is the request's).
ALTER TABLE record_versions ADD COLUMN correction_id BLOB REFERENCES correction_requests (id);

-- Exports (PIPL Art. 45): a patient's copy of everything held about them, built in the
-- background. The archive is encrypted in the vault; `sealed` holds its metadata.
CREATE TABLE export_jobs (
    id          BLOB PRIMARY KEY NOT NULL,
    patient_id  BLOB NOT NULL REFERENCES users (id),
    status      TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
    sealed      TEXT,
    size_bytes  INTEGER,
    sha256      TEXT,
    error       TEXT,
    created_at  TEXT NOT NULL,
    finished_at TEXT
) STRICT;
CREATE INDEX export_jobs_patient_idx ON export_jobs (patient_id, created_at);
