//! Straight recursive RFC 9162 definitions over a full list of leaf hashes.
//!
//! O(n) per call: the yardstick the store-backed plans are tested against, and the way
//! `meditrustal verify` recomputes a root from every stored entry.

use crate::hash::{Hash, empty_root, node_hash};
use crate::plan::split_point;

/// `MTH(D[n])` of RFC 9162 §2.1.1 over leaf hashes.
pub fn root_of(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => empty_root(),
        [leaf] => *leaf,
        _ => {
            let (left, right) = split(leaves);
            node_hash(&root_of(left), &root_of(right))
        }
    }
}

/// `PATH(m, D[n])` of RFC 9162 §2.1.3.1; `None` unless `leaf_index < leaves.len()`.
pub fn inclusion_path_of(leaf_index: u64, leaves: &[Hash]) -> Option<Vec<Hash>> {
    let n = u64::try_from(leaves.len()).ok()?;
    if leaf_index >= n {
        return None;
    }
    if n == 1 {
        return Some(Vec::new());
    }
    let (left, right) = split(leaves);
    let k = split_point(n);
    let (mut path, sibling) = if leaf_index < k {
        (inclusion_path_of(leaf_index, left)?, root_of(right))
    } else {
        (inclusion_path_of(leaf_index - k, right)?, root_of(left))
    };
    path.push(sibling);
    Some(path)
}

/// `PROOF(m, D[n])` of RFC 9162 §2.1.4.1; `None` if `old_size > leaves.len()`.
///
/// Sizes 0 and `leaves.len()` give the empty proof.
pub fn consistency_path_of(old_size: u64, leaves: &[Hash]) -> Option<Vec<Hash>> {
    let n = u64::try_from(leaves.len()).ok()?;
    if old_size > n {
        return None;
    }
    if old_size == 0 || old_size == n {
        return Some(Vec::new());
    }
    subproof(old_size, leaves, true)
}

/// `SUBPROOF(m, D[n], b)` of RFC 9162 §2.1.4.1, for 0 < m <= n.
fn subproof(m: u64, leaves: &[Hash], whole_old_tree: bool) -> Option<Vec<Hash>> {
    let n = u64::try_from(leaves.len()).ok()?;
    if m == n {
        return Some(if whole_old_tree {
            Vec::new()
        } else {
            vec![root_of(leaves)]
        });
    }
    let (left, right) = split(leaves);
    let k = split_point(n);
    let (mut path, other) = if m <= k {
        (subproof(m, left, whole_old_tree)?, root_of(right))
    } else {
        (subproof(m - k, right, false)?, root_of(left))
    };
    path.push(other);
    Some(path)
}

/// Splits at the largest power of two below the length (length at least 2).
fn split(leaves: &[Hash]) -> (&[Hash], &[Hash]) {
    let k = usize::try_from(split_point(leaves.len() as u64)).unwrap_or(0);
    leaves.split_at_checked(k).unwrap_or((leaves, &[]))
}
