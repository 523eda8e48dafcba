//! Node addressing for the store and the "plan, fetch, assemble" contract.
//!
//! A [`NodeId`] names the root of a *perfect* subtree: `2^level` leaves starting at leaf
//! `index · 2^level`. Such a subtree never changes once its last leaf is appended, so the
//! store can persist its hash for good. Every hash the log ever needs (roots at any size,
//! proof elements) is a right fold of at most 64 of these perfect nodes.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

use serde::{Deserialize, Serialize};

use crate::hash::{Hash, node_hash};

/// The root of the perfect subtree covering leaves `[index·2^level, (index+1)·2^level)`.
///
/// Level 0 nodes are leaf hashes. Stored as `ledger_nodes(level, idx, hash)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NodeId {
    /// Height above the leaves; the subtree holds `2^level` leaves.
    pub level: u8,
    /// Position among the nodes of this level, counted from the left.
    pub index: u64,
}

impl NodeId {
    /// The node holding the leaf hash of `leaf_index`.
    pub fn leaf(leaf_index: u64) -> Self {
        Self {
            level: 0,
            index: leaf_index,
        }
    }

    /// First leaf covered, or `None` when it lies beyond `u64`.
    pub fn first_leaf(&self) -> Option<u64> {
        self.index
            .checked_mul(1u64.checked_shl(u32::from(self.level))?)
    }
}

/// Where assembly reads node hashes: the rows the store fetched for a plan.
///
/// Implemented for closures `Fn(NodeId) -> Option<Hash>` and for hash and B-tree maps.
pub trait NodeSource {
    /// The stored hash of `id`, or `None` if the store does not have it.
    fn node(&self, id: NodeId) -> Option<Hash>;
}

impl<F> NodeSource for F
where
    F: Fn(NodeId) -> Option<Hash>,
{
    fn node(&self, id: NodeId) -> Option<Hash> {
        self(id)
    }
}

impl<S: BuildHasher> NodeSource for HashMap<NodeId, Hash, S> {
    fn node(&self, id: NodeId) -> Option<Hash> {
        self.get(&id).copied()
    }
}

impl NodeSource for BTreeMap<NodeId, Hash> {
    fn node(&self, id: NodeId) -> Option<Hash> {
        self.get(&id).copied()
    }
}

/// Why a plan could not be made or assembled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// An inclusion proof was asked for a leaf the tree does not hold.
    #[error("leaf index {leaf_index} is not in a tree of size {tree_size}")]
    LeafIndexOutOfRange {
        /// Requested leaf.
        leaf_index: u64,
        /// Tree size of the request.
        tree_size: u64,
    },
    /// A consistency proof was asked from a larger tree to a smaller one.
    #[error("old tree size {old_size} is larger than new tree size {new_size}")]
    SizesOutOfOrder {
        /// Older (claimed smaller) size.
        old_size: u64,
        /// Newer size.
        new_size: u64,
    },
    /// Appending would make the tree size overflow `u64`.
    #[error("the log is full: leaf index {leaf_index} cannot be appended")]
    LogFull {
        /// Index that was to be appended.
        leaf_index: u64,
    },
    /// A size beyond what the log currently holds was requested.
    #[error("tree size {requested} is beyond the log size {log_size}")]
    SizeBeyondLog {
        /// Requested size.
        requested: u64,
        /// Current log size.
        log_size: u64,
    },
    /// The node source lacks a node the plan needs.
    #[error("node level {} index {} is missing from the store", .0.level, .0.index)]
    MissingNode(NodeId),
}

/// Largest power of two strictly below `n`; `n` must be at least 2 (RFC 9162 "k").
pub(crate) fn split_point(n: u64) -> u64 {
    let top_bit = 63u32.saturating_sub(n.saturating_sub(1).leading_zeros());
    1u64 << top_bit
}

/// The perfect subtrees covering leaves `[start, end)`, left to right, largest first.
///
/// For the subtrees that occur in RFC 9162 recursion (`start` aligned to a power of two at
/// least `end - start`) these are exactly the set bits of `end - start`, so the range's
/// MTH is their right fold (see [`fold_cover`]).
pub(crate) fn perfect_cover(start: u64, end: u64) -> Vec<NodeId> {
    let mut nodes = Vec::new();
    let mut at = start;
    while at < end {
        let fits = 63u32.saturating_sub((end - at).leading_zeros());
        let level = at.trailing_zeros().min(fits);
        nodes.push(NodeId {
            // level <= 63, so it fits in a u8.
            level: level as u8,
            index: at >> level,
        });
        at += 1u64 << level;
    }
    nodes
}

/// MTH of a subtree given its perfect cover: `P1 ⊕ (P2 ⊕ (… ⊕ Pk))`, fetched from `source`.
///
/// Returns `Ok(None)` for an empty cover.
pub(crate) fn fold_cover(
    cover: &[NodeId],
    source: &impl NodeSource,
) -> Result<Option<Hash>, PlanError> {
    let mut acc: Option<Hash> = None;
    for &id in cover.iter().rev() {
        let hash = source.node(id).ok_or(PlanError::MissingNode(id))?;
        acc = Some(match acc {
            None => hash,
            Some(right) => node_hash(&hash, &right),
        });
    }
    Ok(acc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_point_is_largest_power_below() {
        let cases = [
            (2, 1),
            (3, 2),
            (4, 2),
            (5, 4),
            (8, 4),
            (9, 8),
            (1 << 40, 1 << 39),
        ];
        for (n, k) in cases {
            assert_eq!(split_point(n), k, "n = {n}");
        }
        assert_eq!(split_point(u64::MAX), 1 << 63);
    }

    #[test]
    fn cover_of_prefix_follows_binary_digits() {
        let ids = perfect_cover(0, 13);
        assert_eq!(
            ids,
            vec![
                NodeId { level: 3, index: 0 },
                NodeId { level: 2, index: 2 },
                NodeId {
                    level: 0,
                    index: 12
                },
            ]
        );
        assert!(perfect_cover(5, 5).is_empty());
        assert_eq!(perfect_cover(0, u64::MAX).len(), 64);
    }

    #[test]
    fn first_leaf_is_checked() {
        assert_eq!(NodeId { level: 3, index: 2 }.first_leaf(), Some(16));
        assert_eq!(
            NodeId {
                level: 63,
                index: 2
            }
            .first_leaf(),
            None
        );
        assert_eq!(
            NodeId {
                level: 64,
                index: 1
            }
            .first_leaf(),
            None
        );
    }

    #[test]
    fn fold_reports_the_missing_node() {
        let map: HashMap<NodeId, Hash> = HashMap::new();
        let cover = perfect_cover(0, 3);
        assert_eq!(
            fold_cover(&cover, &map),
            Err(PlanError::MissingNode(NodeId::leaf(2)))
        );
        assert_eq!(fold_cover(&[], &map), Ok(None));
    }
}
