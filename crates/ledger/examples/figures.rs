//! Prints the figures quoted in the crate report: proof sizes, node reads and timings.
//! Run with `cargo run --release --example figures`.

use std::error::Error;
use std::time::Instant;

use meditrustal_ledger::{
    MemoryTree, SigningKey, TreeHead, consistency_plan, inclusion_plan, leaf_hash, root_plan, sign,
    verify_consistency, verify_inclusion,
};

fn main() -> Result<(), Box<dyn Error>> {
    println!(
        "size | max inclusion path | max inclusion reads | consistency n/3→n path/reads | root reads"
    );
    for n in [1_000u64, 1_000_000, 1_000_000_000, (1 << 40) + 12_345] {
        let samples = [0, 1, n / 3, n / 2, n - 2, n - 1];
        let mut max_path = 0;
        let mut max_reads = 0;
        for index in samples {
            let plan = inclusion_plan(index, n)?;
            max_path = max_path.max(plan.path_len());
            max_reads = max_reads.max(plan.nodes().len());
        }
        let link = consistency_plan(n / 3, n)?;
        println!(
            "{n} | {max_path} | {max_reads} | {}/{} | {}",
            link.path_len(),
            link.nodes().len(),
            root_plan(n).nodes().len()
        );
    }

    let n = 1_000_000u64;
    let start = Instant::now();
    let mut tree = MemoryTree::new();
    for i in 0..n {
        tree.append_leaf_hash(leaf_hash(&i.to_be_bytes()))?;
    }
    let append_s = start.elapsed().as_secs_f64();
    println!(
        "MemoryTree: {n} appends in {append_s:.2} s ({:.0}/s), {} perfect nodes",
        n as f64 / append_s,
        tree.node_count()
    );

    let root = tree.root();
    let rounds = 20_000u64;
    let start = Instant::now();
    for k in 0..rounds {
        let index = (k * 7_919) % n;
        let proof = tree.inclusion_proof(index, n)?;
        verify_inclusion(&leaf_hash(&index.to_be_bytes()), &proof, &root)?;
    }
    let each = start.elapsed().as_secs_f64() / rounds as f64;
    println!("inclusion proof + verify at n = {n}: {:.1} µs", each * 1e6);

    let start = Instant::now();
    for k in 1..=rounds {
        let old = (k * 104_729) % n + 1;
        let proof = tree.consistency_proof(old, n)?;
        verify_consistency(old, n, &tree.root_at(old)?, &root, &proof)?;
    }
    let each = start.elapsed().as_secs_f64() / rounds as f64;
    println!(
        "consistency proof + old root + verify at n = {n}: {:.1} µs",
        each * 1e6
    );

    let key = SigningKey::from_bytes(&[7u8; 32]);
    let public = key.verifying_key();
    let start = Instant::now();
    for t in 0..2_000u64 {
        let sth = sign(
            &key,
            TreeHead {
                tree_size: n,
                root,
                timestamp_ms: t,
            },
        );
        sth.verify(&public)?;
    }
    println!(
        "tree head sign + verify: {:.1} µs",
        start.elapsed().as_secs_f64() / 2_000.0 * 1e6
    );
    Ok(())
}
