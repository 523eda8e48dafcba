//! # meditrustal-ledger
//!
//! The verifiable-log core of MediTrustAl: an RFC 9162 (Certificate Transparency v2)
//! Merkle tree over canonical-JSON audit events, Ed25519-signed tree heads, inclusion and
//! consistency proofs, and a verifier that needs only the log's public key.
//!
//! The crate does **no I/O**: no database, clock, file or randomness. The store (another
//! crate) keeps the leaves and node hashes and calls the functions here; time and keys
//! come in as parameters.
//!
//! ## Hashing (RFC 9162 §2.1.1)
//! - leaf hash = SHA-256(`0x00` ‖ entry bytes) — [`leaf_hash`]
//! - node hash = SHA-256(`0x01` ‖ left ‖ right) — [`node_hash`]
//! - MTH of the empty tree = SHA-256("") — [`empty_root`]
//! - MTH(D\[n\]) for n > 1 = node(MTH(D\[0:k\]), MTH(D\[k:n\])), k the largest power of two
//!   below n — [`root_of`] is this definition, verbatim.
//!
//! ## Storage layout: perfect nodes
//! A [`NodeId`] `{ level, index }` names the perfect subtree over leaves
//! `[index·2^level, (index+1)·2^level)`; level 0 is the leaf hash. Once its last leaf is
//! in, such a node never changes, so the store persists it as
//! `ledger_nodes(level, idx, hash)` (about 2n rows for n leaves). Any root or proof element
//! is the right fold `P1 ⊕ (P2 ⊕ … Pk)` of the perfect subtrees covering its leaf range.
//!
//! Each operation is *plan → fetch → assemble*: a plan lists the [`NodeId`]s to read (one
//! `SELECT … WHERE (level, idx) IN (…)`), and `assemble` takes the fetched rows through
//! [`NodeSource`] (a closure or a map) and returns the result, or
//! [`PlanError::MissingNode`] if a row is absent.
//!
//! | operation | plan | nodes read |
//! |---|---|---|
//! | append leaf i | [`append_plan`] → [`AppendPlan::assemble`] | trailing ones of i (≤ 63); writes that many + 1 |
//! | root at size n | [`root_plan`] → [`RootPlan::assemble`] | popcount(n) |
//! | inclusion proof | [`inclusion_plan`] → [`InclusionPlan::assemble`] | ≤ 2·⌈log2 n⌉ |
//! | consistency proof | [`consistency_plan`] → [`ConsistencyPlan::assemble`] | O(log n) |
//!
//! Proofs are byte-for-byte RFC 9162 PATH(m, D\[n\]) (§2.1.3.1) and PROOF(m, D\[n\])
//! (§2.1.4.1). The verifiers [`verify_inclusion`] and [`verify_consistency`] follow the
//! §2.1.3.2 and §2.1.4.2 algorithms and share no code with proof generation.
//!
//! ## Signed tree heads
//! [`TreeHead`] `{ tree_size, root, timestamp_ms }` is signed with Ed25519 over 73 bytes:
//! `b"meditrustal-tree-head-v1\0"` ‖ tree_size (u64 BE) ‖ root (32 bytes) ‖ timestamp_ms
//! (u64 BE). See [`tree_head`] and [`TreeHead::signing_bytes`]. Hashes, signatures and
//! public keys are lowercase hex in JSON.
//!
//! ## Entries
//! Entries are canonical JSON ([`canonical_json`], [`LedgerEntry`]): sorted ASCII keys, no
//! whitespace, minimal string escapes, safe integers only — the JCS (RFC 8785) bytes of
//! the value.
//!
//! ## Example: the store's side of an append, a head and a proof
//! ```
//! use std::collections::HashMap;
//! use meditrustal_ledger::*;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // `rows` stands in for the `ledger_nodes` table.
//! let mut rows: HashMap<NodeId, Hash> = HashMap::new();
//! for seq in 0..10u64 {
//!     let event = serde_json::json!({"type": "record.read", "record_id": "rec_1", "seq": seq});
//!     let entry = LedgerEntry::from_event(&event)?; // bytes for `ledger_leaves.leaf_data`
//!     let plan = append_plan(seq)?; // SELECT plan.nodes() …
//!     rows.extend(plan.assemble(entry.leaf_hash(), &rows)?); // … INSERT what it completed
//! }
//! let key = SigningKey::from_bytes(&[7u8; 32]); // loaded from the key file by the caller
//! let head = TreeHead { tree_size: 10, root: root_from(10, &rows)?, timestamp_ms: 1_764_800_000_000 };
//! let sth = sign(&key, head);
//!
//! // A client holding only the public key checks a proof served from the same rows.
//! let proof = inclusion_plan(3, 10)?.assemble(&rows)?;
//! sth.verify(&key.verifying_key())?;
//! verify_inclusion_in_head(&rows[&NodeId::leaf(3)], &proof, &sth.head)?;
//! # Ok(())
//! # }
//! ```
//!
//! ## Invariants
//! - **Append-only.** Leaf i is appended only when the log has exactly i leaves; nothing
//!   is ever rewritten. Any later tree is provably an extension of any earlier one.
//! - **Perfect nodes are immutable.** A stored [`NodeId`] hash never changes; the store
//!   should insert them with a uniqueness constraint and never update them.
//! - **No personal data in entries.** Entries carry pseudonymous ids, hashes and
//!   commitments only — never names, clinical text or other personal information. This
//!   crate cannot tell; it is the caller's duty. It is what lets a patient be erased by
//!   destroying their data keys while the log stays complete and verifiable.
//! - **Never panics on input.** Bad sizes, indices, hex or JSON give errors.

pub mod append;
pub mod canonical;
pub mod hash;
pub mod memory;
pub mod plan;
pub mod proof;
pub mod reference;
pub mod root;
pub mod tree_head;
pub mod verify;

pub use append::{AppendPlan, append_nodes, append_plan};
pub use canonical::{CanonicalError, LedgerEntry, canonical_json};
pub use hash::{Hash, HashParseError, empty_root, leaf_hash, node_hash};
pub use memory::MemoryTree;
pub use plan::{NodeId, NodeSource, PlanError};
pub use proof::{
    ConsistencyPlan, ConsistencyProof, InclusionPlan, InclusionProof, consistency_plan,
    inclusion_plan,
};
pub use reference::{consistency_path_of, inclusion_path_of, root_of};
pub use root::{RootPlan, root_from, root_plan};
pub use tree_head::{
    SignedTreeHead, TreeHead, TreeHeadError, key_id, public_key_from_hex, public_key_to_hex, sign,
};
pub use verify::{
    VerifyError, verify_consistency, verify_heads_consistent, verify_inclusion,
    verify_inclusion_in_head,
};

/// The Ed25519 key types the tree head API takes, re-exported so callers need not pin
/// `ed25519-dalek` themselves.
pub use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
