//! Published RFC 6962 / RFC 9162 test vectors.
//!
//! Source of every hex value below: transparency-dev/merkle, `proof/verify_test.go`
//! (`leaves`, `roots`, `inclusionProofs`, `consistencyProofs`), the vectors the
//! certificate-transparency implementations share. Their inclusion vectors number leaves
//! from 1; they are converted to 0-based indices here.

// Helpers outside #[test] functions are not "test code" to clippy; in this test crate
// unwrapping is how a failed expectation is reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use meditrustal_ledger::{
    ConsistencyProof, Hash, InclusionProof, MemoryTree, NodeId, VerifyError, consistency_path_of,
    consistency_plan, empty_root, inclusion_path_of, inclusion_plan, leaf_hash, root_from, root_of,
    verify_consistency, verify_inclusion,
};

const LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

/// Roots of the trees of the first 1..=8 leaves.
const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// (leaf index, tree size, path)
const INCLUSION: [(u64, u64, &[&str]); 4] = [
    (
        0,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        3,
        &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    ),
    (
        1,
        5,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
];

/// (old size, new size, path)
const CONSISTENCY: [(u64, u64, &[&str]); 5] = [
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

fn h(text: &str) -> Hash {
    Hash::from_hex(text).unwrap()
}

fn hashes(texts: &[&str]) -> Vec<Hash> {
    texts.iter().map(|t| h(t)).collect()
}

fn leaf_hashes() -> Vec<Hash> {
    LEAVES
        .iter()
        .map(|entry| leaf_hash(&hex::decode(entry).unwrap()))
        .collect()
}

fn tree() -> MemoryTree {
    MemoryTree::from_leaf_hashes(leaf_hashes()).unwrap()
}

fn root(size: u64) -> Hash {
    h(ROOTS[size as usize - 1])
}

#[test]
fn empty_tree_root() {
    assert_eq!(
        empty_root(),
        h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
    assert_eq!(root_of(&[]), empty_root());
    assert_eq!(MemoryTree::new().root(), empty_root());
}

#[test]
fn roots_of_sizes_1_to_8() {
    let leaves = leaf_hashes();
    let tree = tree();
    for size in 1..=8u64 {
        let expected = root(size);
        assert_eq!(
            root_of(&leaves[..size as usize]),
            expected,
            "root_of {size}"
        );
        assert_eq!(tree.root_at(size).unwrap(), expected, "plan {size}");
        assert_eq!(
            root_from(size, &tree).unwrap(),
            expected,
            "root_from {size}"
        );
    }
    assert_eq!(tree.root(), root(8));
}

#[test]
fn appending_one_by_one_stores_each_perfect_node_once() {
    let mut tree = MemoryTree::new();
    for (i, leaf) in leaf_hashes().into_iter().enumerate() {
        assert_eq!(tree.append_leaf_hash(leaf).unwrap(), i as u64);
        assert_eq!(tree.root(), root(i as u64 + 1));
    }
    // 8 leaves + 4 pairs + 2 quads + 1 root of eight.
    assert_eq!(tree.node_count(), 15);
    // The level-2 node over leaves 0..4 is the size-4 root.
    let quad = NodeId { level: 2, index: 0 };
    assert_eq!(
        meditrustal_ledger::NodeSource::node(&tree, quad),
        Some(root(4))
    );
}

#[test]
fn inclusion_vectors_are_generated_and_verified() {
    let tree = tree();
    for (index, size, path) in INCLUSION {
        let expected = InclusionProof {
            leaf_index: index,
            tree_size: size,
            path: hashes(path),
        };
        assert_eq!(tree.inclusion_proof(index, size).unwrap(), expected);
        assert_eq!(inclusion_plan(index, size).unwrap().path_len(), path.len());
        let leaves = leaf_hashes();
        assert_eq!(
            inclusion_path_of(index, &leaves[..size as usize]).unwrap(),
            expected.path
        );
        let leaf = leaves[index as usize];
        assert_eq!(verify_inclusion(&leaf, &expected, &root(size)), Ok(()));
    }
}

#[test]
fn consistency_vectors_are_generated_and_verified() {
    let tree = tree();
    let leaves = leaf_hashes();
    for (old, new, path) in CONSISTENCY {
        let expected = ConsistencyProof {
            old_size: old,
            new_size: new,
            path: hashes(path),
        };
        assert_eq!(tree.consistency_proof(old, new).unwrap(), expected);
        assert_eq!(consistency_plan(old, new).unwrap().path_len(), path.len());
        assert_eq!(
            consistency_path_of(old, &leaves[..new as usize]).unwrap(),
            expected.path
        );
        assert_eq!(
            verify_consistency(old, new, &root(old), &root(new), &expected),
            Ok(())
        );
    }
}

/// Tampered variants of each vector, in the spirit of the upstream corruption probes.
#[test]
fn corrupted_inclusion_vectors_fail() {
    let leaves = leaf_hashes();
    let other = leaf_hash(b"WrongLeaf");
    for (index, size, path) in INCLUSION {
        let good = InclusionProof {
            leaf_index: index,
            tree_size: size,
            path: hashes(path),
        };
        let leaf = leaves[index as usize];
        let r = root(size);
        let mut probes: Vec<(Hash, InclusionProof, Hash)> = vec![
            (other, good.clone(), r),
            (leaf, good.clone(), empty_root()),
            (
                leaf,
                InclusionProof {
                    leaf_index: index + 1,
                    ..good.clone()
                },
                r,
            ),
            (
                leaf,
                InclusionProof {
                    leaf_index: index ^ 2,
                    ..good.clone()
                },
                r,
            ),
            (
                leaf,
                InclusionProof {
                    tree_size: size * 2,
                    ..good.clone()
                },
                r,
            ),
            (
                leaf,
                InclusionProof {
                    tree_size: size / 2,
                    ..good.clone()
                },
                r,
            ),
        ];
        if index > 0 {
            probes.push((
                leaf,
                InclusionProof {
                    leaf_index: index - 1,
                    ..good.clone()
                },
                r,
            ));
        }
        let mut extended = good.clone();
        extended.path.push(r);
        probes.push((leaf, extended, r));
        let mut prepended = good.clone();
        prepended.path.insert(0, r);
        probes.push((leaf, prepended, r));
        let mut truncated = good.clone();
        truncated.path.pop();
        probes.push((leaf, truncated, r));
        for i in 0..good.path.len() {
            let mut flipped = good.clone();
            flipped.path[i].0[0] ^= 8;
            probes.push((leaf, flipped, r));
        }
        for (n, (leaf, proof, root)) in probes.iter().enumerate() {
            assert!(
                verify_inclusion(leaf, proof, root).is_err(),
                "probe {n} of ({index}, {size}) verified"
            );
        }
    }
}

#[test]
fn corrupted_consistency_vectors_fail() {
    for (old, new, path) in CONSISTENCY.into_iter().filter(|v| !v.2.is_empty()) {
        let good = ConsistencyProof {
            old_size: old,
            new_size: new,
            path: hashes(path),
        };
        let (r1, r2) = (root(old), root(new));
        let wrong = leaf_hash(b"WrongRoot");
        let resized = |o: u64, n: u64| ConsistencyProof {
            old_size: o,
            new_size: n,
            ..good.clone()
        };
        let mut probes: Vec<(u64, u64, Hash, Hash, ConsistencyProof)> = vec![
            (old - 1, new, r1, r2, resized(old - 1, new)),
            (old + 1, new, r1, r2, resized(old + 1, new)),
            (old ^ 2, new, r1, r2, resized(old ^ 2, new)),
            (old, new * 2, r1, r2, resized(old, new * 2)),
            (old, new / 2, r1, r2, resized(old, new / 2)),
            (old, new, wrong, r2, good.clone()),
            (old, new, r1, wrong, good.clone()),
            (old, new, r2, r1, good.clone()),
            (
                old,
                new,
                r1,
                r2,
                ConsistencyProof {
                    path: vec![],
                    ..good.clone()
                },
            ),
        ];
        for extra in [r1, r2, good.path[0]] {
            let mut appended = good.clone();
            appended.path.push(extra);
            probes.push((old, new, r1, r2, appended));
            let mut prepended = good.clone();
            prepended.path.insert(0, extra);
            probes.push((old, new, r1, r2, prepended));
        }
        let mut truncated = good.clone();
        truncated.path.pop();
        probes.push((old, new, r1, r2, truncated));
        for i in 0..good.path.len() {
            let mut flipped = good.clone();
            flipped.path[i].0[0] ^= 16;
            probes.push((old, new, r1, r2, flipped));
        }
        for (n, (o, s, a, b, proof)) in probes.iter().enumerate() {
            assert!(
                verify_consistency(*o, *s, a, b, proof).is_err(),
                "probe {n} of ({old}, {new}) verified"
            );
        }
    }
}

#[test]
fn proof_in_json_uses_hex() {
    let proof = tree().inclusion_proof(2, 3).unwrap();
    let json = serde_json::to_string(&proof).unwrap();
    assert_eq!(
        json,
        format!(
            r#"{{"leaf_index":2,"tree_size":3,"path":["{}"]}}"#,
            ROOTS[1]
        )
    );
    let back: InclusionProof = serde_json::from_str(&json).unwrap();
    assert_eq!(back, proof);
    assert!(matches!(
        verify_inclusion(&leaf_hashes()[2], &back, &root(2)),
        Err(VerifyError::RootMismatch { .. })
    ));
}
