//! One module per published score: its typed input, its point tables as small public
//! functions (so every cut-off is testable on its own), and its JSON reader.

pub mod cdrs;
pub mod cha2ds2_vasc;
pub mod china_par;
pub mod curb65;
pub mod egfr;
pub mod framingham;
pub mod gcs;
pub mod has_bled;
pub mod news2;
pub mod qsofa;
pub mod sirs;
pub mod sofa;
pub mod sofa_delta;
