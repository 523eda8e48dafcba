//! Rust bindings of the committed contract artefacts (`contracts/build`). Generated at compile
//! time from the same JSON the CI check compares with the Solidity sources.
#![allow(missing_docs, clippy::too_many_arguments)]

alloy::sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    LedgerAnchor,
    "../../contracts/build/LedgerAnchor.json"
);

alloy::sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    RecordRegistry,
    "../../contracts/build/RecordRegistry.json"
);

alloy::sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    ConsentRegistry,
    "../../contracts/build/ConsentRegistry.json"
);
