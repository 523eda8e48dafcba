//! An independent RFC 9162 verifier for the tests: written from the RFC's §2.1.3.2 and
//! §2.1.4.2 algorithms with `sha2` directly, sharing no code with the ledger crate, so a
//! bug in the server's proof generation cannot hide behind the same bug in verification.

use sha2::{Digest, Sha256};

pub fn leaf_hash(entry: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(entry);
    h.finalize().into()
}

fn node(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

pub fn unhex(text: &str) -> [u8; 32] {
    let bytes: Vec<u8> = (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect();
    bytes.try_into().unwrap()
}

/// RFC 9162 §2.1.3.2.
pub fn root_from_inclusion(
    leaf_index: u64,
    tree_size: u64,
    leaf: [u8; 32],
    path: &[[u8; 32]],
) -> Option<[u8; 32]> {
    if leaf_index >= tree_size {
        return None;
    }
    let (mut fn_, mut sn) = (leaf_index, tree_size - 1);
    let mut r = leaf;
    for p in path {
        if sn == 0 {
            return None;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    (sn == 0).then_some(r)
}

/// RFC 9162 §2.1.4.2: returns (old root, new root) the proof commits to.
pub fn roots_from_consistency(
    first: u64,
    second: u64,
    path: &[[u8; 32]],
    first_root: [u8; 32],
) -> Option<([u8; 32], [u8; 32])> {
    if first == second {
        return path.is_empty().then_some((first_root, first_root));
    }
    if first == 0 || first > second {
        return None;
    }
    let mut path = path.to_vec();
    if first.is_power_of_two() {
        path.insert(0, first_root);
    }
    let (mut fn_, mut sn) = (first - 1, second - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let mut iter = path.iter();
    let start = *iter.next()?;
    let (mut fr, mut sr) = (start, start);
    for c in iter {
        if sn == 0 {
            return None;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node(c, &fr);
            sr = node(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    (sn == 0).then_some((fr, sr))
}

/// The signed bytes of a tree head: b"meditrustal-tree-head-v1\0" ‖ size ‖ root ‖ timestamp.
pub fn tree_head_message(tree_size: u64, root: &[u8; 32], timestamp_ms: u64) -> Vec<u8> {
    let mut m = b"meditrustal-tree-head-v1\0".to_vec();
    m.extend_from_slice(&tree_size.to_be_bytes());
    m.extend_from_slice(root);
    m.extend_from_slice(&timestamp_ms.to_be_bytes());
    m
}
