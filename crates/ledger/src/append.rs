//! Appending a leaf: which stored nodes it needs and which perfect nodes it completes.

use serde::{Deserialize, Serialize};

use crate::hash::{Hash, node_hash};
use crate::plan::{NodeId, NodeSource, PlanError};

/// The stored nodes needed to append leaf `leaf_index`: its left siblings, lowest first.
///
/// Appending leaf `i` completes one perfect node per trailing one-bit of `i` (plus the leaf
/// itself); each needs the already-stored left sibling at the level below.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendPlan {
    /// Index the new leaf will get (the tree size before the append).
    pub leaf_index: u64,
    /// Left siblings to fetch, level 0 upwards.
    pub siblings: Vec<NodeId>,
}

/// Plans the append of leaf `leaf_index` (which must equal the current tree size).
pub fn append_plan(leaf_index: u64) -> Result<AppendPlan, PlanError> {
    if leaf_index == u64::MAX {
        return Err(PlanError::LogFull { leaf_index });
    }
    let siblings = (0..leaf_index.trailing_ones())
        .map(|level| NodeId {
            // trailing_ones < 64 here because leaf_index != u64::MAX.
            level: level as u8,
            index: (leaf_index >> level) ^ 1,
        })
        .collect();
    Ok(AppendPlan {
        leaf_index,
        siblings,
    })
}

impl AppendPlan {
    /// The nodes the store must read, in plan order.
    pub fn nodes(&self) -> &[NodeId] {
        &self.siblings
    }

    /// Every perfect node completed by this append, level 0 (the leaf) first.
    ///
    /// The store inserts all of them; none of them existed before.
    pub fn assemble(
        &self,
        leaf_hash: Hash,
        source: &impl NodeSource,
    ) -> Result<Vec<(NodeId, Hash)>, PlanError> {
        let mut completed = Vec::with_capacity(self.siblings.len() + 1);
        completed.push((NodeId::leaf(self.leaf_index), leaf_hash));
        let mut acc = leaf_hash;
        for &sibling in &self.siblings {
            let left = source
                .node(sibling)
                .ok_or(PlanError::MissingNode(sibling))?;
            acc = node_hash(&left, &acc);
            let parent = NodeId {
                level: sibling.level + 1,
                index: sibling.index >> 1,
            };
            completed.push((parent, acc));
        }
        Ok(completed)
    }
}

/// Shorthand for `append_plan(leaf_index)?.assemble(leaf_hash, source)`.
pub fn append_nodes(
    leaf_index: u64,
    leaf_hash: Hash,
    source: &impl NodeSource,
) -> Result<Vec<(NodeId, Hash)>, PlanError> {
    append_plan(leaf_index)?.assemble(leaf_hash, source)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::hash::leaf_hash;

    #[test]
    fn siblings_follow_trailing_ones() {
        assert!(append_plan(0).unwrap().siblings.is_empty());
        assert!(append_plan(4).unwrap().siblings.is_empty());
        assert_eq!(
            append_plan(7).unwrap().siblings,
            vec![
                NodeId { level: 0, index: 6 },
                NodeId { level: 1, index: 2 },
                NodeId { level: 2, index: 0 },
            ]
        );
        assert_eq!(
            append_plan(u64::MAX),
            Err(PlanError::LogFull {
                leaf_index: u64::MAX
            })
        );
        assert_eq!(append_plan(u64::MAX - 1).unwrap().siblings.len(), 0);
        assert_eq!(append_plan((1 << 63) - 1).unwrap().siblings.len(), 63);
    }

    #[test]
    fn second_leaf_completes_the_pair() {
        let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
        let store: HashMap<NodeId, Hash> = [(NodeId::leaf(0), a)].into_iter().collect();
        let done = append_nodes(1, b, &store).unwrap();
        assert_eq!(
            done,
            vec![
                (NodeId::leaf(1), b),
                (NodeId { level: 1, index: 0 }, node_hash(&a, &b))
            ]
        );
        let empty: HashMap<NodeId, Hash> = HashMap::new();
        assert_eq!(
            append_nodes(1, b, &empty),
            Err(PlanError::MissingNode(NodeId::leaf(0)))
        );
    }
}
