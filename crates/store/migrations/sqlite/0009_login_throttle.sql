-- Login throttling shared by every process on the database. One row per throttled key (an
-- account name or a client address, stored only as a keyed hash) holding its GCRA
-- theoretical arrival time in Unix microseconds; a row whose time has passed means the same
-- as no row and is pruned.
CREATE TABLE login_throttle (
    key_hash TEXT PRIMARY KEY NOT NULL,
    tat_us   INTEGER NOT NULL
) STRICT;
