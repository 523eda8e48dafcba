-- Research access (PostgreSQL): patient profiles, research projects, research consent, export jobs.
-- A patient's demographics, sealed with the vault like other derived data.
CREATE TABLE patient_profiles (
    patient_id UUID PRIMARY KEY NOT NULL REFERENCES users (id),
    sealed     TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- A researcher's project; an administrator approves or rejects it. `secret` is the sealed
-- key from which pseudonyms, date shifts and cohort-count noise are derived.
CREATE TABLE research_projects (
    id              UUID PRIMARY KEY NOT NULL,
    researcher_id   UUID NOT NULL REFERENCES users (id),
    title           TEXT NOT NULL,
    purpose         TEXT NOT NULL,
    description     TEXT NOT NULL,
    ethics_approval TEXT NOT NULL,
    categories      TEXT NOT NULL,
    period_start    DATE NOT NULL,
    period_end      DATE NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    secret          TEXT NOT NULL,
    queries_used    BIGINT NOT NULL DEFAULT 0,
    decided_by      UUID REFERENCES users (id),
    decision_reason TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    decided_at      TIMESTAMPTZ
);
CREATE INDEX research_projects_researcher_idx ON research_projects (researcher_id, created_at);

-- Research consent, append-only: a patient's current choice for (purpose, category) is its
-- newest row (highest seq, assigned under the ledger's write lock, not by a sequence, so
-- that a restored snapshot goes on counting); no row means opted out. The row count is the
-- consent epoch exports check.
CREATE TABLE research_consents (
    seq        BIGINT PRIMARY KEY,
    patient_id UUID NOT NULL REFERENCES users (id),
    purpose    TEXT NOT NULL,
    category   TEXT NOT NULL,
    opted_in   BOOLEAN NOT NULL,
    changed_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX research_consents_patient_idx ON research_consents (patient_id, purpose, category, seq);

CREATE TABLE research_exports (
    id          UUID PRIMARY KEY NOT NULL,
    project_id  UUID NOT NULL REFERENCES research_projects (id),
    format      TEXT NOT NULL CHECK (format IN ('csv', 'ndjson')),
    k           BIGINT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
    sealed      TEXT,
    size_bytes  BIGINT,
    sha256      TEXT,
    report      TEXT,
    error       TEXT,
    created_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ
);
CREATE INDEX research_exports_project_idx ON research_exports (project_id, created_at);

-- Whose data a finished export holds, so that each patient can see it.
CREATE TABLE research_export_subjects (
    export_id  UUID NOT NULL REFERENCES research_exports (id),
    patient_id UUID NOT NULL REFERENCES users (id),
    PRIMARY KEY (export_id, patient_id)
);
CREATE INDEX research_export_subjects_patient_idx ON research_export_subjects (patient_id);
