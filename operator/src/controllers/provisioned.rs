//! [`Provisioned`]: what the provisioners last converged per object, so a reconcile that an
//! owned object's change triggered does not repeat identical external calls.
//!
//! A pipeline is reconciled several times while it rolls out (its Secrets, ConfigMap,
//! Deployments and Services each trigger one), and every reconcile used to call
//! `createUser`/`updateUser` (a password hash on the server) and about fifteen RabbitMQ
//! management requests again with the same input. The memo remembers a fingerprint of
//! the input of the last successful call (user spec with its password, topology with its
//! password, admin credentials) and skips the call while the input is unchanged and the
//! entry is younger than `max_age` (the resync period): drift made out of band is still
//! corrected at the periodic resync, as before, and any change of input (spec, rotation,
//! admin Secret) provisions at once. A new leader starts empty, so it provisions once.

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The memo's (and the metrics') name of MongoDB provisioning.
pub const MONGODB: &str = "mongodb";
/// The memo's (and the metrics') name of RabbitMQ provisioning.
pub const RABBITMQ: &str = "rabbitmq";

/// Fingerprint of a provisioning call's input (a SHA-256: passwords are never kept).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// Hashes `parts` (length-prefixed, so `["ab", "c"]` and `["a", "bc"]` differ).
    pub fn of(parts: &[&str]) -> Self {
        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part.as_bytes());
        }
        Self(hasher.finalize().into())
    }

    /// The input of a RabbitMQ provisioning call: admin credentials, topology, user password.
    pub fn of_topology(
        admin: &crate::controllers::backends::RabbitAdmin,
        topology: &crate::provision::rabbitmq::Topology,
        password: &crate::secrets::SecretString,
    ) -> Self {
        Self::of(&[
            &admin.management_url,
            &admin.username,
            admin.password.expose(),
            &format!("{topology:?}"),
            password.expose(),
        ])
    }
}

/// (object key `<namespace>/<name>`, backend).
type Entry = (String, &'static str);

/// Last successful provisioning per (object, backend).
#[derive(Debug, Default)]
pub struct Provisioned {
    entries: Mutex<HashMap<Entry, (Fingerprint, Instant)>>,
}

impl Provisioned {
    /// Whether `backend` was provisioned for `key` with this exact input less than
    /// `max_age` before `now`.
    pub fn is_current(
        &self,
        key: &str,
        backend: &'static str,
        input: Fingerprint,
        max_age: Duration,
        now: Instant,
    ) -> bool {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(&(key.to_owned(), backend))
            .is_some_and(|(seen, at)| {
                *seen == input && now.saturating_duration_since(*at) < max_age
            })
    }

    /// Records a successful provisioning of `backend` for `key` at `now`.
    pub fn record(&self, key: &str, backend: &'static str, input: Fingerprint, now: Instant) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((key.to_owned(), backend), (input, now));
    }

    /// Forgets `key` (its object is being deleted: its external state goes).
    pub fn forget(&self, key: &str) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(k, _), _| k != key);
    }

    /// Entries held (one per provisioned object and backend).
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AGE: Duration = Duration::from_secs(300);

    #[test]
    fn the_same_input_is_current_until_it_is_older_than_max_age() {
        let memo = Provisioned::default();
        let input = Fingerprint::of(&["user", "password"]);
        let t0 = Instant::now();
        assert!(!memo.is_current("shop/copy", "mongodb", input, AGE, t0));
        memo.record("shop/copy", "mongodb", input, t0);
        assert!(memo.is_current(
            "shop/copy",
            "mongodb",
            input,
            AGE,
            t0 + Duration::from_secs(299)
        ));
        assert!(!memo.is_current("shop/copy", "mongodb", input, AGE, t0 + AGE));
        assert!(!memo.is_current("shop/copy", "rabbitmq", input, AGE, t0));
        assert!(!memo.is_current("shop/other", "mongodb", input, AGE, t0));
    }

    #[test]
    fn another_input_or_a_forgotten_object_is_not_current() {
        let memo = Provisioned::default();
        let t0 = Instant::now();
        memo.record(
            "shop/copy",
            "mongodb",
            Fingerprint::of(&["user", "old"]),
            t0,
        );
        memo.record("shop/copy", "rabbitmq", Fingerprint::of(&["topology"]), t0);
        let rotated = Fingerprint::of(&["user", "new"]);
        assert!(!memo.is_current("shop/copy", "mongodb", rotated, AGE, t0));
        assert_eq!(memo.len(), 2);
        memo.forget("shop/copy");
        assert!(memo.is_empty());
        assert!(!memo.is_current(
            "shop/copy",
            "rabbitmq",
            Fingerprint::of(&["topology"]),
            AGE,
            t0
        ));
    }

    #[test]
    fn fingerprints_are_length_prefixed() {
        assert_ne!(Fingerprint::of(&["ab", "c"]), Fingerprint::of(&["a", "bc"]));
        assert_eq!(Fingerprint::of(&["a"]), Fingerprint::of(&["a"]));
    }
}
