//! An in-memory log that drives the same plan/assemble API as the database store.

use std::collections::HashMap;

use crate::append::append_plan;
use crate::hash::{Hash, leaf_hash};
use crate::plan::{NodeId, NodeSource, PlanError};
use crate::proof::{ConsistencyProof, InclusionProof, consistency_plan, inclusion_plan};
use crate::root::root_plan;

/// Leaf hashes plus every completed perfect node, as the store would hold them.
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    leaves: Vec<Hash>,
    nodes: HashMap<NodeId, Hash>,
}

impl NodeSource for MemoryTree {
    fn node(&self, id: NodeId) -> Option<Hash> {
        self.nodes.get(&id).copied()
    }
}

impl MemoryTree {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// A log holding `leaves` in order.
    pub fn from_leaf_hashes(leaves: impl IntoIterator<Item = Hash>) -> Result<Self, PlanError> {
        let mut tree = Self::new();
        for leaf in leaves {
            tree.append_leaf_hash(leaf)?;
        }
        Ok(tree)
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.leaves.len() as u64
    }

    /// Leaf hash at `index`, if present.
    pub fn leaf(&self, index: u64) -> Option<Hash> {
        self.leaves.get(usize::try_from(index).ok()?).copied()
    }

    /// All leaf hashes in order.
    pub fn leaves(&self) -> &[Hash] {
        &self.leaves
    }

    /// Every stored perfect node, in no particular order: what `meditrustal verify`
    /// compares with the store's `ledger_nodes` rows after recomputing from the entries.
    pub fn node_hashes(&self) -> impl Iterator<Item = (NodeId, Hash)> + '_ {
        self.nodes.iter().map(|(id, hash)| (*id, *hash))
    }

    /// Number of stored perfect nodes (about twice the leaf count).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Appends an entry's bytes; returns its leaf index.
    pub fn append_entry(&mut self, entry: &[u8]) -> Result<u64, PlanError> {
        self.append_leaf_hash(leaf_hash(entry))
    }

    /// Appends a leaf hash; returns its leaf index.
    pub fn append_leaf_hash(&mut self, leaf: Hash) -> Result<u64, PlanError> {
        let index = self.size();
        let completed = append_plan(index)?.assemble(leaf, self)?;
        self.nodes.extend(completed);
        self.leaves.push(leaf);
        Ok(index)
    }

    /// Root of the whole log.
    pub fn root(&self) -> Hash {
        // The full size is always within the log, so the plan finds every node.
        root_plan(self.size())
            .assemble(self)
            .unwrap_or_else(|_| crate::reference::root_of(&self.leaves))
    }

    /// Root of the first `tree_size` leaves.
    pub fn root_at(&self, tree_size: u64) -> Result<Hash, PlanError> {
        self.check_size(tree_size)?;
        root_plan(tree_size).assemble(self)
    }

    /// Inclusion proof of `leaf_index` in the tree of the first `tree_size` leaves.
    pub fn inclusion_proof(
        &self,
        leaf_index: u64,
        tree_size: u64,
    ) -> Result<InclusionProof, PlanError> {
        self.check_size(tree_size)?;
        inclusion_plan(leaf_index, tree_size)?.assemble(self)
    }

    /// Consistency proof from the first `old_size` to the first `new_size` leaves.
    pub fn consistency_proof(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> Result<ConsistencyProof, PlanError> {
        self.check_size(new_size)?;
        consistency_plan(old_size, new_size)?.assemble(self)
    }

    fn check_size(&self, requested: u64) -> Result<(), PlanError> {
        if requested > self.size() {
            return Err(PlanError::SizeBeyondLog {
                requested,
                log_size: self.size(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::root_of;

    #[test]
    fn roots_match_reference_at_every_size() {
        let mut tree = MemoryTree::new();
        assert_eq!(tree.root(), root_of(&[]));
        for i in 0..70u32 {
            tree.append_entry(&i.to_be_bytes()).unwrap();
            assert_eq!(tree.root(), root_of(tree.leaves()), "size {}", tree.size());
        }
        for size in 0..=70 {
            let prefix = tree.leaves().get(..size as usize).unwrap();
            assert_eq!(tree.root_at(size).unwrap(), root_of(prefix));
        }
        // Every perfect subtree of a 70-leaf tree: 70 + 35 + 17 + 8 + 4 + 2 + 1.
        assert_eq!(tree.node_count(), 137);
    }

    #[test]
    fn sizes_beyond_the_log_are_errors() {
        let tree = MemoryTree::from_leaf_hashes([leaf_hash(b"a")]).unwrap();
        let beyond = PlanError::SizeBeyondLog {
            requested: 2,
            log_size: 1,
        };
        assert_eq!(tree.root_at(2), Err(beyond.clone()));
        assert_eq!(tree.inclusion_proof(0, 2), Err(beyond.clone()));
        assert_eq!(tree.consistency_proof(1, 2), Err(beyond));
        assert_eq!(tree.leaf(0), Some(leaf_hash(b"a")));
        assert_eq!(tree.leaf(1), None);
    }
}
