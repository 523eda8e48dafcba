//! Tree root at any size from stored perfect nodes.

use serde::{Deserialize, Serialize};

use crate::hash::{Hash, empty_root};
use crate::plan::{NodeId, NodeSource, PlanError, perfect_cover};

/// The perfect nodes whose right fold is the root of the first `tree_size` leaves.
///
/// One node per set bit of `tree_size`, largest (leftmost) first; none for the empty tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootPlan {
    /// Size of the tree whose root is wanted.
    pub tree_size: u64,
    /// Perfect nodes to read, left to right.
    pub nodes: Vec<NodeId>,
}

/// Plans the root of the tree of the first `tree_size` leaves.
pub fn root_plan(tree_size: u64) -> RootPlan {
    RootPlan {
        tree_size,
        nodes: perfect_cover(0, tree_size),
    }
}

impl RootPlan {
    /// The nodes the store must read.
    pub fn nodes(&self) -> &[NodeId] {
        &self.nodes
    }

    /// `MTH(D[0:tree_size])`; the empty tree's root is SHA-256 of the empty string.
    pub fn assemble(&self, source: &impl NodeSource) -> Result<Hash, PlanError> {
        Ok(crate::plan::fold_cover(&self.nodes, source)?.unwrap_or_else(empty_root))
    }
}

/// Shorthand for `root_plan(tree_size).assemble(source)`.
pub fn root_from(tree_size: u64, source: &impl NodeSource) -> Result<Hash, PlanError> {
    root_plan(tree_size).assemble(source)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::hash::{leaf_hash, node_hash};

    #[test]
    fn empty_tree_needs_nothing() {
        let none = |_: NodeId| None;
        assert!(root_plan(0).nodes.is_empty());
        assert_eq!(root_from(0, &none), Ok(empty_root()));
    }

    #[test]
    fn three_leaves_fold_right() {
        let (a, b, c) = (leaf_hash(b"a"), leaf_hash(b"b"), leaf_hash(b"c"));
        let ab = node_hash(&a, &b);
        let store: BTreeMap<NodeId, Hash> =
            [(NodeId { level: 1, index: 0 }, ab), (NodeId::leaf(2), c)]
                .into_iter()
                .collect();
        assert_eq!(root_from(3, &store), Ok(node_hash(&ab, &c)));
        assert_eq!(
            root_from(4, &store),
            Err(PlanError::MissingNode(NodeId { level: 2, index: 0 }))
        );
    }

    #[test]
    fn plan_size_is_popcount() {
        for n in [1u64, 2, 7, 8, 1_000_000, u64::MAX] {
            assert_eq!(root_plan(n).nodes.len(), n.count_ones() as usize);
        }
    }
}
