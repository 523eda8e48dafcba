//! Proof verification that needs only hashes and sizes (RFC 9162 §2.1.3.2 and §2.1.4.2).
//!
//! Written straight from the RFC's step lists and deliberately independent of the proof
//! generation code, so that a bug in one is caught by the other.

use crate::hash::{Hash, empty_root, node_hash};
use crate::proof::{ConsistencyProof, InclusionProof};
use crate::tree_head::TreeHead;

/// Why a proof does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The leaf index is not below the tree size.
    #[error("leaf index {leaf_index} is not in a tree of size {tree_size}")]
    LeafIndexOutOfRange {
        /// Claimed leaf index.
        leaf_index: u64,
        /// Claimed tree size.
        tree_size: u64,
    },
    /// The old size is larger than the new size.
    #[error("old tree size {old_size} is larger than new tree size {new_size}")]
    SizesOutOfOrder {
        /// Claimed old size.
        old_size: u64,
        /// Claimed new size.
        new_size: u64,
    },
    /// The proof was made for other tree sizes than the ones being checked.
    #[error("the proof is for sizes {proof_old}→{proof_new}, not {old_size}→{new_size}")]
    ProofSizeMismatch {
        /// Old size in the proof.
        proof_old: u64,
        /// New size in the proof.
        proof_new: u64,
        /// Old size being checked.
        old_size: u64,
        /// New size being checked.
        new_size: u64,
    },
    /// The proof was made for another tree size than the tree head states.
    #[error("the proof is for tree size {proof_size}, the tree head states {head_size}")]
    TreeSizeMismatch {
        /// Tree size in the proof.
        proof_size: u64,
        /// Tree size in the head.
        head_size: u64,
    },
    /// The path has more hashes than the tree shape allows.
    #[error("the proof path is too long for the tree size")]
    PathTooLong,
    /// The path has fewer hashes than the tree shape needs.
    #[error("the proof path is too short for the tree size")]
    PathTooShort,
    /// The path is empty where the sizes need a non-empty proof.
    #[error("the proof path is empty but sizes {old_size}→{new_size} need one")]
    EmptyPath {
        /// Old size.
        old_size: u64,
        /// New size.
        new_size: u64,
    },
    /// The path is non-empty where the sizes need none.
    #[error("the proof path must be empty for sizes {old_size}→{new_size}")]
    UnexpectedPath {
        /// Old size.
        old_size: u64,
        /// New size.
        new_size: u64,
    },
    /// The inclusion path leads to another root.
    #[error("the path leads to root {computed}, expected {expected}")]
    RootMismatch {
        /// Root the path computes.
        computed: Hash,
        /// Root that was claimed.
        expected: Hash,
    },
    /// The consistency path does not rebuild the old root.
    #[error("the proof rebuilds old root {computed}, expected {expected}")]
    OldRootMismatch {
        /// Root the proof computes.
        computed: Hash,
        /// Root that was claimed.
        expected: Hash,
    },
    /// The consistency path does not rebuild the new root.
    #[error("the proof rebuilds new root {computed}, expected {expected}")]
    NewRootMismatch {
        /// Root the proof computes.
        computed: Hash,
        /// Root that was claimed.
        expected: Hash,
    },
}

/// Shifts `fn_` and `sn` right together until `fn_` is odd or zero (RFC 9162 inner step).
fn shift_to_right_child(fn_: &mut u64, sn: &mut u64) {
    while *fn_ & 1 == 0 && *fn_ != 0 {
        *fn_ >>= 1;
        *sn >>= 1;
    }
}

/// Checks that `leaf_hash` is leaf `proof.leaf_index` of the tree of `proof.tree_size`
/// leaves whose root is `root` (RFC 9162 §2.1.3.2).
///
/// The root binds the leaf and index but not the size: a path can also fit another size
/// of the same shape. Take the size from a (verified) signed tree head, as
/// [`verify_inclusion_in_head`] does.
pub fn verify_inclusion(
    leaf_hash: &Hash,
    proof: &InclusionProof,
    root: &Hash,
) -> Result<(), VerifyError> {
    let (leaf_index, tree_size) = (proof.leaf_index, proof.tree_size);
    if leaf_index >= tree_size {
        return Err(VerifyError::LeafIndexOutOfRange {
            leaf_index,
            tree_size,
        });
    }
    let mut fn_ = leaf_index;
    let mut sn = tree_size - 1;
    let mut r = *leaf_hash;
    for p in &proof.path {
        if sn == 0 {
            return Err(VerifyError::PathTooLong);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            shift_to_right_child(&mut fn_, &mut sn);
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(VerifyError::PathTooShort);
    }
    if r != *root {
        return Err(VerifyError::RootMismatch {
            computed: r,
            expected: *root,
        });
    }
    Ok(())
}

/// Checks that the tree of `old_size` leaves with root `old_root` is a prefix of the tree of
/// `new_size` leaves with root `new_root` (RFC 9162 §2.1.4.2).
///
/// Beyond the RFC: equal sizes need equal roots and an empty path; old size 0 needs an
/// empty path and the empty-tree root as `old_root`; the proof's own sizes must match.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &ConsistencyProof,
) -> Result<(), VerifyError> {
    if proof.old_size != old_size || proof.new_size != new_size {
        return Err(VerifyError::ProofSizeMismatch {
            proof_old: proof.old_size,
            proof_new: proof.new_size,
            old_size,
            new_size,
        });
    }
    if old_size > new_size {
        return Err(VerifyError::SizesOutOfOrder { old_size, new_size });
    }
    if old_size == 0 || old_size == new_size {
        return verify_trivial_consistency(old_size, new_size, old_root, new_root, proof);
    }
    let mut rest = proof.path.iter();
    // Step 2: when the old tree is a perfect left subtree its root is the proof's seed.
    let seed = if old_size.is_power_of_two() {
        if proof.path.is_empty() {
            None
        } else {
            Some(old_root)
        }
    } else {
        rest.next()
    };
    let Some(seed) = seed else {
        return Err(VerifyError::EmptyPath { old_size, new_size });
    };
    let mut fn_ = old_size - 1;
    let mut sn = new_size - 1;
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (*seed, *seed);
    for c in rest {
        if sn == 0 {
            return Err(VerifyError::PathTooLong);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            shift_to_right_child(&mut fn_, &mut sn);
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(VerifyError::PathTooShort);
    }
    if fr != *old_root {
        return Err(VerifyError::OldRootMismatch {
            computed: fr,
            expected: *old_root,
        });
    }
    if sr != *new_root {
        return Err(VerifyError::NewRootMismatch {
            computed: sr,
            expected: *new_root,
        });
    }
    Ok(())
}

/// Checks inclusion against a tree head: the proof's size must be the head's size and the
/// path must lead to the head's root. Verify the head's signature first.
pub fn verify_inclusion_in_head(
    leaf_hash: &Hash,
    proof: &InclusionProof,
    head: &TreeHead,
) -> Result<(), VerifyError> {
    if proof.tree_size != head.tree_size {
        return Err(VerifyError::TreeSizeMismatch {
            proof_size: proof.tree_size,
            head_size: head.tree_size,
        });
    }
    verify_inclusion(leaf_hash, proof, &head.root)
}

/// Checks that `new` extends `old`: the log only appended between the two heads.
/// Verify both heads' signatures first.
pub fn verify_heads_consistent(
    old: &TreeHead,
    new: &TreeHead,
    proof: &ConsistencyProof,
) -> Result<(), VerifyError> {
    verify_consistency(old.tree_size, new.tree_size, &old.root, &new.root, proof)
}

/// Sizes where nothing needs proving: from the empty tree, or between equal sizes.
fn verify_trivial_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &ConsistencyProof,
) -> Result<(), VerifyError> {
    if !proof.path.is_empty() {
        return Err(VerifyError::UnexpectedPath { old_size, new_size });
    }
    if old_size == 0 && *old_root != empty_root() {
        return Err(VerifyError::OldRootMismatch {
            computed: empty_root(),
            expected: *old_root,
        });
    }
    if old_size == new_size && old_root != new_root {
        return Err(VerifyError::NewRootMismatch {
            computed: *old_root,
            expected: *new_root,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;

    fn consistency(old_size: u64, new_size: u64, path: Vec<Hash>) -> ConsistencyProof {
        ConsistencyProof {
            old_size,
            new_size,
            path,
        }
    }

    #[test]
    fn single_leaf_tree_root_is_the_leaf() {
        let leaf = leaf_hash(b"data");
        let proof = InclusionProof {
            leaf_index: 0,
            tree_size: 1,
            path: vec![],
        };
        assert_eq!(verify_inclusion(&leaf, &proof, &leaf), Ok(()));
        let other = leaf_hash(b"other");
        assert!(matches!(
            verify_inclusion(&leaf, &proof, &other),
            Err(VerifyError::RootMismatch { .. })
        ));
        let too_long = InclusionProof {
            path: vec![leaf],
            ..proof
        };
        assert_eq!(
            verify_inclusion(&leaf, &too_long, &leaf),
            Err(VerifyError::PathTooLong)
        );
    }

    #[test]
    fn index_beyond_size_fails_early() {
        let leaf = leaf_hash(b"x");
        for (leaf_index, tree_size) in [(0, 0), (1, 0), (2, 1), (5, 5)] {
            let proof = InclusionProof {
                leaf_index,
                tree_size,
                path: vec![],
            };
            assert_eq!(
                verify_inclusion(&leaf, &proof, &leaf),
                Err(VerifyError::LeafIndexOutOfRange {
                    leaf_index,
                    tree_size
                })
            );
        }
    }

    #[test]
    fn trivial_consistency_rules() {
        let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
        let empty = empty_root();
        assert_eq!(
            verify_consistency(0, 0, &empty, &empty, &consistency(0, 0, vec![])),
            Ok(())
        );
        assert!(verify_consistency(0, 0, &empty, &a, &consistency(0, 0, vec![])).is_err());
        assert_eq!(
            verify_consistency(0, 7, &empty, &b, &consistency(0, 7, vec![])),
            Ok(())
        );
        assert!(verify_consistency(0, 7, &a, &b, &consistency(0, 7, vec![])).is_err());
        assert_eq!(
            verify_consistency(3, 3, &a, &a, &consistency(3, 3, vec![])),
            Ok(())
        );
        assert!(verify_consistency(3, 3, &a, &b, &consistency(3, 3, vec![])).is_err());
        assert_eq!(
            verify_consistency(3, 3, &a, &a, &consistency(3, 3, vec![a])),
            Err(VerifyError::UnexpectedPath {
                old_size: 3,
                new_size: 3
            })
        );
        assert_eq!(
            verify_consistency(2, 1, &a, &b, &consistency(2, 1, vec![])),
            Err(VerifyError::SizesOutOfOrder {
                old_size: 2,
                new_size: 1
            })
        );
        assert_eq!(
            verify_consistency(1, 2, &a, &b, &consistency(1, 2, vec![])),
            Err(VerifyError::EmptyPath {
                old_size: 1,
                new_size: 2
            })
        );
        assert!(matches!(
            verify_consistency(1, 2, &a, &b, &consistency(1, 3, vec![b])),
            Err(VerifyError::ProofSizeMismatch { .. })
        ));
    }
}
