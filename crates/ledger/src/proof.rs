//! Inclusion and consistency proofs (RFC 9162 §2.1.3.1 and §2.1.4.1) built from stored nodes.
//!
//! Each proof element is the MTH of one subtree of the RFC recursion. Left subtrees are
//! perfect (one stored node); at most one element per proof is a right-edge subtree, whose
//! MTH is folded from its perfect cover. A proof therefore reads O(log n) nodes.

use serde::{Deserialize, Serialize};

use crate::hash::Hash;
use crate::plan::{NodeId, NodeSource, PlanError, fold_cover, perfect_cover, split_point};

/// Audit path of one leaf in a tree of `tree_size` leaves: RFC 9162 `PATH(m, D[n])`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    /// Index of the proven leaf (0-based).
    pub leaf_index: u64,
    /// Size of the tree the path leads to.
    pub tree_size: u64,
    /// Sibling subtree hashes, from the leaf up to the root.
    pub path: Vec<Hash>,
}

/// Proof that the tree of `old_size` leaves is a prefix of the tree of `new_size` leaves:
/// RFC 9162 `PROOF(m, D[n])`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyProof {
    /// Size of the older tree.
    pub old_size: u64,
    /// Size of the newer tree.
    pub new_size: u64,
    /// Subtree hashes, lowest first.
    pub path: Vec<Hash>,
}

/// A leaf range `[start, end)` that is a node of the RFC 9162 recursion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Subtree {
    start: u64,
    end: u64,
}

impl Subtree {
    fn split(self) -> (Subtree, Subtree) {
        let mid = self.start + split_point(self.end - self.start);
        (
            Subtree {
                start: self.start,
                end: mid,
            },
            Subtree {
                start: mid,
                end: self.end,
            },
        )
    }
}

/// Proof elements as perfect covers; shared by both proof kinds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct ElementCovers(Vec<Vec<NodeId>>);

impl ElementCovers {
    fn from_subtrees(subtrees: &[Subtree]) -> Self {
        Self(
            subtrees
                .iter()
                .map(|s| perfect_cover(s.start, s.end))
                .collect(),
        )
    }

    fn nodes(&self) -> Vec<NodeId> {
        self.0.iter().flatten().copied().collect()
    }

    fn assemble(&self, source: &impl NodeSource) -> Result<Vec<Hash>, PlanError> {
        let mut path = Vec::with_capacity(self.0.len());
        for cover in &self.0 {
            // Covers of proof elements are never empty: every subtree holds a leaf.
            if let Some(hash) = fold_cover(cover, source)? {
                path.push(hash);
            }
        }
        Ok(path)
    }
}

/// The stored nodes an inclusion proof needs, grouped per proof element.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InclusionPlan {
    /// Proven leaf.
    pub leaf_index: u64,
    /// Tree size of the proof.
    pub tree_size: u64,
    elements: ElementCovers,
}

/// Plans `PATH(leaf_index, D[tree_size])`; fails unless `leaf_index < tree_size`.
pub fn inclusion_plan(leaf_index: u64, tree_size: u64) -> Result<InclusionPlan, PlanError> {
    if leaf_index >= tree_size {
        return Err(PlanError::LeafIndexOutOfRange {
            leaf_index,
            tree_size,
        });
    }
    // Walk down from the root; each step records the sibling subtree. PATH lists them
    // from the leaf upwards, so the walk order is reversed at the end.
    let mut subtrees = Vec::new();
    let mut current = Subtree {
        start: 0,
        end: tree_size,
    };
    while current.end - current.start > 1 {
        let (left, right) = current.split();
        if leaf_index < left.end {
            subtrees.push(right);
            current = left;
        } else {
            subtrees.push(left);
            current = right;
        }
    }
    subtrees.reverse();
    Ok(InclusionPlan {
        leaf_index,
        tree_size,
        elements: ElementCovers::from_subtrees(&subtrees),
    })
}

impl InclusionPlan {
    /// Every node the store must read (no duplicates).
    pub fn nodes(&self) -> Vec<NodeId> {
        self.elements.nodes()
    }

    /// Number of hashes the finished proof will hold.
    pub fn path_len(&self) -> usize {
        self.elements.0.len()
    }

    /// Builds the proof from the fetched nodes.
    pub fn assemble(&self, source: &impl NodeSource) -> Result<InclusionProof, PlanError> {
        Ok(InclusionProof {
            leaf_index: self.leaf_index,
            tree_size: self.tree_size,
            path: self.elements.assemble(source)?,
        })
    }
}

/// The stored nodes a consistency proof needs, grouped per proof element.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsistencyPlan {
    /// Older tree size.
    pub old_size: u64,
    /// Newer tree size.
    pub new_size: u64,
    elements: ElementCovers,
}

/// Plans `PROOF(old_size, D[new_size])`.
///
/// `old_size == 0` and `old_size == new_size` give an empty proof; `old_size > new_size`
/// is an error.
pub fn consistency_plan(old_size: u64, new_size: u64) -> Result<ConsistencyPlan, PlanError> {
    if old_size > new_size {
        return Err(PlanError::SizesOutOfOrder { old_size, new_size });
    }
    let mut subtrees = Vec::new();
    if old_size > 0 && old_size < new_size {
        // SUBPROOF(m, D[n], b): `whole_old_tree` is b, true while the old tree is the
        // left part of every subtree visited so far (then its root needs no proof entry).
        let mut whole_old_tree = true;
        let mut current = Subtree {
            start: 0,
            end: new_size,
        };
        while current.end != old_size {
            let (left, right) = current.split();
            if old_size <= left.end {
                subtrees.push(right);
                current = left;
            } else {
                subtrees.push(left);
                current = right;
                whole_old_tree = false;
            }
        }
        if !whole_old_tree {
            subtrees.push(current);
        }
        subtrees.reverse();
    }
    Ok(ConsistencyPlan {
        old_size,
        new_size,
        elements: ElementCovers::from_subtrees(&subtrees),
    })
}

impl ConsistencyPlan {
    /// Every node the store must read (no duplicates).
    pub fn nodes(&self) -> Vec<NodeId> {
        self.elements.nodes()
    }

    /// Number of hashes the finished proof will hold.
    pub fn path_len(&self) -> usize {
        self.elements.0.len()
    }

    /// Builds the proof from the fetched nodes.
    pub fn assemble(&self, source: &impl NodeSource) -> Result<ConsistencyProof, PlanError> {
        Ok(ConsistencyProof {
            old_size: self.old_size,
            new_size: self.new_size,
            path: self.elements.assemble(source)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_requests_are_errors() {
        assert_eq!(
            inclusion_plan(0, 0),
            Err(PlanError::LeafIndexOutOfRange {
                leaf_index: 0,
                tree_size: 0
            })
        );
        assert!(inclusion_plan(8, 8).is_err());
        assert_eq!(
            consistency_plan(9, 8),
            Err(PlanError::SizesOutOfOrder {
                old_size: 9,
                new_size: 8
            })
        );
    }

    #[test]
    fn trivial_consistency_is_empty() {
        assert_eq!(consistency_plan(0, 5).unwrap().path_len(), 0);
        assert_eq!(consistency_plan(5, 5).unwrap().path_len(), 0);
        assert_eq!(consistency_plan(0, 0).unwrap().path_len(), 0);
    }

    #[test]
    fn single_leaf_tree_has_empty_path() {
        let plan = inclusion_plan(0, 1).unwrap();
        assert!(plan.nodes().is_empty());
        let proof = plan.assemble(&|_: NodeId| None).unwrap();
        assert!(proof.path.is_empty());
    }

    #[test]
    fn node_reads_stay_logarithmic_at_huge_sizes() {
        // A log of 2^40 + 12345 leaves: reads bounded by a small multiple of log2(n).
        let n = (1u64 << 40) + 12_345;
        for index in [0, 1, n / 2, n - 12_345, n - 1] {
            let plan = inclusion_plan(index, n).unwrap();
            assert!(plan.nodes().len() <= 2 * 41, "index {index}");
        }
        let plan = consistency_plan(n / 3, n).unwrap();
        assert!(plan.nodes().len() <= 3 * 41);
        // Near the top of u64 nothing overflows.
        let huge = u64::MAX;
        assert!(inclusion_plan(huge - 1, huge).unwrap().path_len() <= 64);
        assert!(consistency_plan(huge - 7, huge).unwrap().path_len() <= 128);
    }

    #[test]
    fn missing_node_is_reported() {
        let plan = inclusion_plan(2, 5).unwrap();
        let missing = plan.assemble(&|_: NodeId| None);
        assert!(matches!(missing, Err(PlanError::MissingNode(_))));
    }
}
