//! Property tests: store-backed plans against the recursive RFC definitions, and the
//! verifiers against single-bit tampering.

// Helpers outside #[test] functions are not "test code" to clippy; in this test crate
// unwrapping is how a failed expectation is reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use meditrustal_ledger::{
    ConsistencyProof, Hash, InclusionProof, MemoryTree, consistency_path_of, inclusion_path_of,
    leaf_hash, root_of, verify_consistency, verify_inclusion,
};
use proptest::prelude::*;

const MAX_LEAVES: u64 = 3000;

fn leaves(n: u64) -> Vec<Hash> {
    (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
}

fn flip(hash: &Hash, bit: usize) -> Hash {
    let mut bytes = hash.0;
    bytes[(bit / 8) % 32] ^= 1 << (bit % 8);
    Hash(bytes)
}

/// A log size, a tree size within it and a point inside that tree, as fractions.
fn sizes() -> impl Strategy<Value = (u64, u64, u64)> {
    (1..=MAX_LEAVES)
        .prop_flat_map(|n| (Just(n), 1..=n))
        .prop_flat_map(|(n, size)| (Just(n), Just(size), 0..size))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn inclusion_matches_reference_and_resists_tampering(
        (n, size, index) in sizes(),
        bit in 0usize..256,
        index_bit in 0u32..64,
    ) {
        let all = leaves(n);
        let tree = MemoryTree::from_leaf_hashes(all.iter().copied()).unwrap();
        let prefix = &all[..size as usize];
        let root = root_of(prefix);
        prop_assert_eq!(tree.root_at(size).unwrap(), root);

        let proof = tree.inclusion_proof(index, size).unwrap();
        prop_assert_eq!(&proof.path, &inclusion_path_of(index, prefix).unwrap());
        let leaf = all[index as usize];
        prop_assert_eq!(verify_inclusion(&leaf, &proof, &root), Ok(()));

        for i in 0..proof.path.len() {
            let mut bad = proof.clone();
            bad.path[i] = flip(&bad.path[i], bit);
            prop_assert!(verify_inclusion(&leaf, &bad, &root).is_err(), "path[{}]", i);
        }
        prop_assert!(verify_inclusion(&flip(&leaf, bit), &proof, &root).is_err());
        prop_assert!(verify_inclusion(&leaf, &proof, &flip(&root, bit)).is_err());
        let moved = InclusionProof { leaf_index: index ^ (1 << index_bit), ..proof.clone() };
        prop_assert!(verify_inclusion(&leaf, &moved, &root).is_err());
        let mut shorter = proof.clone();
        if shorter.path.pop().is_some() {
            prop_assert!(verify_inclusion(&leaf, &shorter, &root).is_err());
        }
        let mut longer = proof;
        longer.path.push(root);
        prop_assert!(verify_inclusion(&leaf, &longer, &root).is_err());
    }

    #[test]
    fn consistency_matches_reference_and_resists_tampering(
        (n, new_size, old_size) in sizes(),
        bit in 0usize..256,
    ) {
        let all = leaves(n);
        let tree = MemoryTree::from_leaf_hashes(all.iter().copied()).unwrap();
        let new_root = root_of(&all[..new_size as usize]);
        let old_root = root_of(&all[..old_size as usize]);

        let proof = tree.consistency_proof(old_size, new_size).unwrap();
        prop_assert_eq!(
            &proof.path,
            &consistency_path_of(old_size, &all[..new_size as usize]).unwrap()
        );
        prop_assert_eq!(
            verify_consistency(old_size, new_size, &old_root, &new_root, &proof),
            Ok(())
        );
        for i in 0..proof.path.len() {
            let mut bad = proof.clone();
            bad.path[i] = flip(&bad.path[i], bit);
            prop_assert!(
                verify_consistency(old_size, new_size, &old_root, &new_root, &bad).is_err(),
                "path[{}]", i
            );
        }
        prop_assert!(
            verify_consistency(old_size, new_size, &flip(&old_root, bit), &new_root, &proof)
                .is_err()
        );
        if old_size > 0 {
            prop_assert!(
                verify_consistency(old_size, new_size, &old_root, &flip(&new_root, bit), &proof)
                    .is_err()
            );
        }
        let mut shorter = proof.clone();
        if shorter.path.pop().is_some() {
            prop_assert!(
                verify_consistency(old_size, new_size, &old_root, &new_root, &shorter).is_err()
            );
        }
        let mut longer = proof;
        longer.path.push(new_root);
        prop_assert!(
            verify_consistency(old_size, new_size, &old_root, &new_root, &longer).is_err()
        );
    }

    #[test]
    fn inclusion_survives_growth_via_consistency(
        (n, new_size, old_size) in sizes(),
        seed in any::<u64>(),
    ) {
        // A client holding an old proof and a consistency proof trusts the leaf in the
        // new tree only if both verify: check that the two chain up.
        prop_assume!(old_size > 0);
        let all = leaves(n);
        let tree = MemoryTree::from_leaf_hashes(all.iter().copied()).unwrap();
        let index = seed % old_size;
        let old_root = tree.root_at(old_size).unwrap();
        let new_root = tree.root_at(new_size).unwrap();
        let old_proof = tree.inclusion_proof(index, old_size).unwrap();
        let new_proof = tree.inclusion_proof(index, new_size).unwrap();
        let link = tree.consistency_proof(old_size, new_size).unwrap();
        prop_assert_eq!(verify_inclusion(&all[index as usize], &old_proof, &old_root), Ok(()));
        prop_assert_eq!(verify_inclusion(&all[index as usize], &new_proof, &new_root), Ok(()));
        prop_assert_eq!(
            verify_consistency(old_size, new_size, &old_root, &new_root, &link),
            Ok(())
        );
    }
}

/// Every (index, size) and (old, new) pair up to 64 leaves, against the reference.
#[test]
fn exhaustive_small_trees() {
    let all = leaves(64);
    let tree = MemoryTree::from_leaf_hashes(all.iter().copied()).unwrap();
    for size in 0..=64u64 {
        let prefix = &all[..size as usize];
        let root = root_of(prefix);
        assert_eq!(tree.root_at(size).unwrap(), root);
        for index in 0..size {
            let proof = tree.inclusion_proof(index, size).unwrap();
            assert_eq!(proof.path, inclusion_path_of(index, prefix).unwrap());
            assert_eq!(
                verify_inclusion(&all[index as usize], &proof, &root),
                Ok(())
            );
            // The proof for one leaf never proves its neighbour.
            let other = all[((index + 1) % 64) as usize];
            assert!(verify_inclusion(&other, &proof, &root).is_err());
        }
        for old in 0..=size {
            let proof = tree.consistency_proof(old, size).unwrap();
            assert_eq!(proof.path, consistency_path_of(old, prefix).unwrap());
            let old_root = root_of(&all[..old as usize]);
            assert_eq!(
                verify_consistency(old, size, &old_root, &root, &proof),
                Ok(())
            );
        }
    }
}

/// Proof lengths are ⌈log2 n⌉-bounded: the figures quoted in the crate report.
#[test]
fn proof_lengths_are_logarithmic() {
    let all = leaves(1025);
    let tree = MemoryTree::from_leaf_hashes(all.iter().copied()).unwrap();
    let max_inclusion = (0..1025)
        .map(|i| tree.inclusion_proof(i, 1025).unwrap().path.len())
        .max();
    assert_eq!(max_inclusion, Some(11));
    assert_eq!(tree.inclusion_proof(0, 1024).unwrap().path.len(), 10);
    let max_consistency = (1..1025)
        .map(|m| tree.consistency_proof(m, 1025).unwrap().path.len())
        .max();
    assert!(max_consistency.unwrap() <= 12);
    let empty = ConsistencyProof {
        old_size: 1024,
        new_size: 1024,
        path: vec![],
    };
    assert_eq!(tree.consistency_proof(1024, 1024).unwrap(), empty);
}
