-- Records, consent, access requests, emergencies, notifications and the ledger (SQLite).
CREATE TABLE records (
    id              BLOB PRIMARY KEY NOT NULL,
    patient_id      BLOB NOT NULL REFERENCES users (id),
    category        TEXT NOT NULL,
    current_version INTEGER NOT NULL,
    created_by      BLOB NOT NULL REFERENCES users (id),
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
) STRICT;
CREATE INDEX records_patient_idx ON records (patient_id, created_at);

CREATE TABLE record_versions (
    record_id       BLOB NOT NULL REFERENCES records (id),
    version         INTEGER NOT NULL,
    content_type    TEXT NOT NULL,
    size_bytes      INTEGER NOT NULL,
    -- The vault's SealedRecord as JSON: object key, wrapped data key, key id, nonce, SHA-256.
    sealed          TEXT NOT NULL,
    -- Random salt of the ledger's content commitment SHA-256(salt || SHA-256(content)).
    commitment_salt BLOB NOT NULL,
    leaf_index      INTEGER NOT NULL,
    created_by      BLOB NOT NULL REFERENCES users (id),
    created_at      TEXT NOT NULL,
    PRIMARY KEY (record_id, version)
) STRICT;

CREATE TABLE consents (
    id          BLOB PRIMARY KEY NOT NULL,
    patient_id  BLOB NOT NULL REFERENCES users (id),
    grantee_id  BLOB NOT NULL REFERENCES users (id),
    scope       TEXT NOT NULL,
    purposes    TEXT NOT NULL,
    allow_write INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT,
    revoked_at  TEXT
) STRICT;
CREATE INDEX consents_pair_idx ON consents (patient_id, grantee_id);
CREATE INDEX consents_grantee_idx ON consents (grantee_id);

CREATE TABLE access_requests (
    id          BLOB PRIMARY KEY NOT NULL,
    doctor_id   BLOB NOT NULL REFERENCES users (id),
    patient_id  BLOB NOT NULL REFERENCES users (id),
    scope       TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    reason      TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied')),
    consent_id  BLOB REFERENCES consents (id),
    created_at  TEXT NOT NULL,
    decided_at  TEXT
) STRICT;
CREATE INDEX access_requests_patient_idx ON access_requests (patient_id, created_at);
CREATE INDEX access_requests_doctor_idx ON access_requests (doctor_id, created_at);

CREATE TABLE emergency_grants (
    id          BLOB PRIMARY KEY NOT NULL,
    doctor_id   BLOB NOT NULL REFERENCES users (id),
    patient_id  BLOB NOT NULL REFERENCES users (id),
    reason      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
) STRICT;
CREATE INDEX emergency_grants_pair_idx ON emergency_grants (patient_id, doctor_id);

CREATE TABLE notifications (
    id          BLOB PRIMARY KEY NOT NULL,
    user_id     BLOB NOT NULL REFERENCES users (id),
    kind        TEXT NOT NULL,
    payload     TEXT NOT NULL,
    created_at  TEXT NOT NULL
) STRICT;
CREATE INDEX notifications_user_idx ON notifications (user_id, created_at);

-- The verifiable log (DESIGN.md §4). leaf_data is the canonical JSON entry; the other
-- columns index it for audit queries and never leave the database.
CREATE TABLE ledger_leaves (
    leaf_index  INTEGER PRIMARY KEY NOT NULL,
    leaf_data   BLOB NOT NULL,
    kind        TEXT NOT NULL,
    actor_id    BLOB,
    patient_id  BLOB,
    record_id   BLOB,
    outcome     TEXT NOT NULL,
    created_at  TEXT NOT NULL
) STRICT;
CREATE INDEX ledger_leaves_patient_idx ON ledger_leaves (patient_id, leaf_index);
CREATE INDEX ledger_leaves_actor_idx ON ledger_leaves (actor_id, leaf_index);
CREATE INDEX ledger_leaves_record_idx ON ledger_leaves (record_id, leaf_index);

-- Hashes of perfect subtrees: immutable once written, O(log n) of them serve any proof.
CREATE TABLE ledger_nodes (
    level       INTEGER NOT NULL,
    idx         INTEGER NOT NULL,
    hash        BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) STRICT;

CREATE TABLE ledger_tree_heads (
    tree_size    INTEGER PRIMARY KEY NOT NULL,
    root         BLOB NOT NULL,
    timestamp_ms INTEGER NOT NULL,
    signature    BLOB NOT NULL
) STRICT;
