-- Records, consent, access requests, emergencies, notifications and the ledger (PostgreSQL).
CREATE TABLE records (
    id              UUID PRIMARY KEY,
    patient_id      UUID NOT NULL REFERENCES users (id),
    category        TEXT NOT NULL,
    current_version BIGINT NOT NULL,
    created_by      UUID NOT NULL REFERENCES users (id),
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX records_patient_idx ON records (patient_id, created_at);

CREATE TABLE record_versions (
    record_id       UUID NOT NULL REFERENCES records (id),
    version         BIGINT NOT NULL,
    content_type    TEXT NOT NULL,
    size_bytes      BIGINT NOT NULL,
    -- The vault's SealedRecord as JSON: object key, wrapped data key, key id, nonce, SHA-256.
    sealed          TEXT NOT NULL,
    -- Random salt of the ledger's content commitment SHA-256(salt || SHA-256(content)).
    commitment_salt BYTEA NOT NULL,
    leaf_index      BIGINT NOT NULL,
    created_by      UUID NOT NULL REFERENCES users (id),
    created_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (record_id, version)
);

CREATE TABLE consents (
    id          UUID PRIMARY KEY,
    patient_id  UUID NOT NULL REFERENCES users (id),
    grantee_id  UUID NOT NULL REFERENCES users (id),
    scope       TEXT NOT NULL,
    purposes    TEXT NOT NULL,
    allow_write BOOLEAN NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ,
    revoked_at  TIMESTAMPTZ
);
CREATE INDEX consents_pair_idx ON consents (patient_id, grantee_id);
CREATE INDEX consents_grantee_idx ON consents (grantee_id);

CREATE TABLE access_requests (
    id          UUID PRIMARY KEY,
    doctor_id   UUID NOT NULL REFERENCES users (id),
    patient_id  UUID NOT NULL REFERENCES users (id),
    scope       TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    reason      TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied')),
    consent_id  UUID REFERENCES consents (id),
    created_at  TIMESTAMPTZ NOT NULL,
    decided_at  TIMESTAMPTZ
);
CREATE INDEX access_requests_patient_idx ON access_requests (patient_id, created_at);
CREATE INDEX access_requests_doctor_idx ON access_requests (doctor_id, created_at);

CREATE TABLE emergency_grants (
    id          UUID PRIMARY KEY,
    doctor_id   UUID NOT NULL REFERENCES users (id),
    patient_id  UUID NOT NULL REFERENCES users (id),
    reason      TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX emergency_grants_pair_idx ON emergency_grants (patient_id, doctor_id);

CREATE TABLE notifications (
    id          UUID PRIMARY KEY,
    user_id     UUID NOT NULL REFERENCES users (id),
    kind        TEXT NOT NULL,
    payload     TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX notifications_user_idx ON notifications (user_id, created_at);

-- The verifiable log (DESIGN.md §4). leaf_data is the canonical JSON entry; the other
-- columns index it for audit queries and never leave the database.
CREATE TABLE ledger_leaves (
    leaf_index  BIGINT PRIMARY KEY NOT NULL,
    leaf_data   BYTEA NOT NULL,
    kind        TEXT NOT NULL,
    actor_id    UUID,
    patient_id  UUID,
    record_id   UUID,
    outcome     TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX ledger_leaves_patient_idx ON ledger_leaves (patient_id, leaf_index);
CREATE INDEX ledger_leaves_actor_idx ON ledger_leaves (actor_id, leaf_index);
CREATE INDEX ledger_leaves_record_idx ON ledger_leaves (record_id, leaf_index);

-- Hashes of perfect subtrees: immutable once written, O(log n) of them serve any proof.
CREATE TABLE ledger_nodes (
    level       BIGINT NOT NULL,
    idx         BIGINT NOT NULL,
    hash        BYTEA NOT NULL,
    PRIMARY KEY (level, idx)
);

CREATE TABLE ledger_tree_heads (
    tree_size    BIGINT PRIMARY KEY NOT NULL,
    root         BYTEA NOT NULL,
    timestamp_ms BIGINT NOT NULL,
    signature    BYTEA NOT NULL
);
