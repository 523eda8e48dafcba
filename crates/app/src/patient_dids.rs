//! Patients' DIDs by account id, remembered by the process. Every clinical action looks up
//! its patient's DID (for the ledger entry, and to check the account is a patient's); an
//! account's id, role and DID never change and accounts are never deleted (erasing one
//! anonymises the row and keeps it), so a DID once read stays true.

use std::collections::HashMap;
use std::sync::RwLock;

use meditrustal_domain::{Did, UserId};

/// At most this many DIDs are kept; the map starts over when full, which costs one lookup
/// per patient again and keeps memory bounded (≈ 100 bytes an entry).
const CAPACITY: usize = 100_000;

#[derive(Debug, Default)]
pub(crate) struct PatientDids(RwLock<HashMap<UserId, Did>>);

impl PatientDids {
    pub(crate) fn get(&self, patient: UserId) -> Option<Did> {
        self.0.read().ok()?.get(&patient).cloned()
    }

    pub(crate) fn remember(&self, patient: UserId, did: &Did) {
        if let Ok(mut known) = self.0.write() {
            if known.len() >= CAPACITY {
                known.clear();
            }
            known.insert(patient, did.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_until_full_then_starts_over() {
        let dids = PatientDids::default();
        let did = |n: u128| Did::parse(&format!("did:meditrustal:{n:032x}")).unwrap();
        let id = |n: u128| UserId(uuid::Uuid::from_u128(n));
        assert_eq!(dids.get(id(1)), None);
        dids.remember(id(1), &did(1));
        assert_eq!(dids.get(id(1)), Some(did(1)));
        for n in 2..=CAPACITY as u128 {
            dids.remember(id(n), &did(n));
        }
        assert_eq!(dids.get(id(1)), Some(did(1)));
        dids.remember(id(0), &did(0));
        assert_eq!(dids.get(id(1)), None);
        assert_eq!(dids.get(id(0)), Some(did(0)));
    }
}
