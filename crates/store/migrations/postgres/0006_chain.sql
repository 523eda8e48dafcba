-- What this node wrote to the EVM chain (docs/chain.md). Not audit data: the chain itself is
-- the record; these rows let `verify --chain` notice anchors the chain no longer has.
CREATE TABLE chain_anchors (
    tree_size    BIGINT PRIMARY KEY NOT NULL,
    root         BYTEA NOT NULL,
    tx_hash      BYTEA NOT NULL,
    block_number BIGINT NOT NULL,
    anchored_at  TIMESTAMPTZ NOT NULL
);

-- Mirror progress: record versions with a ledger leaf index up to `position` are on chain.
-- The rows after it are the durable backlog.
CREATE TABLE chain_cursors (
    name     TEXT PRIMARY KEY NOT NULL,
    position BIGINT NOT NULL
);
