-- Login throttling shared by every replica. One row per throttled key (an account name or a
-- client address, stored only as a keyed hash) holding its GCRA theoretical arrival time in
-- Unix microseconds; a row whose time has passed means the same as no row and is pruned.
CREATE TABLE login_throttle (
    key_hash TEXT PRIMARY KEY,
    tat_us   BIGINT NOT NULL
);
