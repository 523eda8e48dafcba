-- What this node wrote to the EVM chain (docs/chain.md). Not audit data: the chain itself is
-- the record; these rows let `verify --chain` notice anchors the chain no longer has.
CREATE TABLE chain_anchors (
    tree_size    INTEGER PRIMARY KEY NOT NULL,
    root         BLOB NOT NULL,
    tx_hash      BLOB NOT NULL,
    block_number INTEGER NOT NULL,
    anchored_at  TEXT NOT NULL
) STRICT;

-- Mirror progress: record versions with a ledger leaf index up to `position` are on chain.
-- The rows after it are the durable backlog.
CREATE TABLE chain_cursors (
    name     TEXT PRIMARY KEY NOT NULL,
    position INTEGER NOT NULL
) STRICT;
