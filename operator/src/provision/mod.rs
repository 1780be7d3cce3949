//! Provisioners of the external resources a custom resource needs: MongoDB users and the
//! RabbitMQ topology (vhost, user, permissions, exchanges, queues, bindings).
//!
//! Each provisioner is a thin client holding an admin connection; every operation is
//! idempotent (running it again after a crash at any point creates no duplicates), and
//! every deletion treats "already gone" as success. What to provision is computed by pure
//! functions ([`rabbitmq::Topology::for_pipeline`], [`mongodb::UserSpec::for_pipeline`]),
//! so the reconcilers only glue the two together.
//!
//! Errors are typed per provisioner ([`mongodb::MongoError`], [`rabbitmq::RabbitError`]),
//! one variant per action that failed, with the object it was acting on. Passwords and
//! connection strings only travel as [`crate::secrets::SecretString`]; no error or log line
//! contains them.
//!
//! # Credential rotation without downtime
//!
//! MongoDB and RabbitMQ users have exactly one password, and `ensure_user` with a new
//! password makes it effective at once: the old password stops authenticating new
//! connections (already-authenticated connections stay open until they close). Rotating in
//! place therefore leaves a window in which pods that still hold the old Secret cannot open
//! new connections. Rotation without downtime uses two users per workload, alternating
//! between the [`CredentialSlot`]s `a` and `b`:
//!
//! 1. `ensure_user` the *other* slot's user with a fresh password (the current user keeps
//!    working: nothing the running pods use has changed);
//! 2. write the new username, password and connection string into the workload's Secret;
//!    its [`crate::secrets::credentials_version`] changes, so the pod template's
//!    `machina.dev/credentials-version` annotation changes and the Deployment rolls;
//! 3. only when the rollout has completed (`observedGeneration` current, `updatedReplicas`
//!    and `availableReplicas` equal to `replicas`: no pod runs with the old Secret) `drop_user`
//!    / `delete_user` the old slot's user.
//!
//! The design guarantees: at every instant, every running pod holds credentials that
//! authenticate; a crash between steps is recovered by re-running them (each is
//! idempotent, and the slot recorded in the Secret says which user is current); the old
//! credentials stop working once step 3 has run. In-place rotation (same username, new
//! password) is also supported and is what a bring-your-own Secret change does; it
//! guarantees only that the new password is effective when `ensure_user` returns.

pub mod mongodb;
pub mod rabbitmq;

use std::fmt;

/// One of the two users a workload alternates between when its credentials rotate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CredentialSlot {
    /// The first user, `<base>-a`.
    #[default]
    A,
    /// The second user, `<base>-b`.
    B,
}

impl CredentialSlot {
    /// The slot a rotation moves to.
    pub fn other(self) -> Self {
        match self {
            Self::A => Self::B,
            Self::B => Self::A,
        }
    }

    /// The slot's user name: `<base>-a` or `<base>-b`.
    pub fn user(self, base: &str) -> String {
        format!("{base}-{self}")
    }

    /// The slot of a user name built by [`CredentialSlot::user`] from `base`.
    pub fn of_user(base: &str, user: &str) -> Option<Self> {
        match user.strip_prefix(base)?.strip_prefix('-')? {
            "a" => Some(Self::A),
            "b" => Some(Self::B),
            _ => None,
        }
    }
}

impl fmt::Display for CredentialSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::A => "a",
            Self::B => "b",
        })
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters (vhost, user, queue and
/// exchange names in management API paths: `/` becomes `%2F`).
pub(crate) fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_alternate_and_name_users() {
        assert_eq!(CredentialSlot::A.other(), CredentialSlot::B);
        assert_eq!(CredentialSlot::B.other(), CredentialSlot::A);
        assert_eq!(
            CredentialSlot::B.user("machina.cp.shop.copy"),
            "machina.cp.shop.copy-b"
        );
        assert_eq!(
            CredentialSlot::of_user("machina.cp.shop.copy", "machina.cp.shop.copy-a"),
            Some(CredentialSlot::A)
        );
        assert_eq!(CredentialSlot::of_user("base", "base-c"), None);
        assert_eq!(CredentialSlot::of_user("base", "other-a"), None);
    }

    #[test]
    fn percent_encoding_of_path_segments() {
        assert_eq!(percent_encode("/"), "%2F");
        assert_eq!(percent_encode("shop.acme"), "shop.acme");
        assert_eq!(percent_encode("a #b"), "a%20%23b");
    }
}
