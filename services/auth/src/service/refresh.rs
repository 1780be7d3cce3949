//! Refresh tokens: opaque, stored as SHA-256, rotated on every use.
//!
//! Exactly one request wins the rotation of a token (a conditional update). A
//! request that loses within `REFRESH_GRACE` (two tabs refreshing at once) gets
//! the winner's successor: it is stored sealed under a key derived from the old
//! token, so only a holder of the old token can open it and the database never
//! holds a usable token. A rotated token presented after the grace period is a
//! replay: the whole family (every token descended from the same grant) is revoked.

use std::time::Duration;

use mongodb::bson::{DateTime, doc};

use super::Auth;
use crate::{
    Error, Result,
    crypto::{Sealer, random_token, sha256_hex},
    model::{ClientDoc, RefreshDoc},
};

/// How long a loser of a concurrent rotation waits for the winner's successor.
const SUCCESSOR_WAIT: Duration = Duration::from_secs(5);

/// What a second presentation of a rotated token means.
#[derive(Debug, PartialEq, Eq)]
pub enum Replay {
    /// Within the grace period: hand out the same successor.
    Grace,
    /// After it: a stolen token is being replayed.
    Reuse,
}

/// Classifies a presentation `now_ms` of a token rotated at `rotated_ms`.
pub fn replay(rotated_ms: i64, now_ms: i64, grace: Duration) -> Replay {
    let grace_ms = i64::try_from(grace.as_millis()).unwrap_or(i64::MAX);
    if now_ms.saturating_sub(rotated_ms) <= grace_ms {
        Replay::Grace
    } else {
        Replay::Reuse
    }
}

/// The sealer for a token's successor: keyed by the old token itself.
fn successor_sealer(old_token: &str) -> Sealer {
    let key = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        format!("machina-auth successor\0{old_token}").as_bytes(),
    );
    let mut bytes = [0u8; 32];
    bytes.copy_from_slice(key.as_ref());
    Sealer::new(Some(&bytes))
}

fn invalid() -> Error {
    Error::InvalidGrant("the refresh token is invalid, expired or revoked".into())
}

impl Auth {
    /// Stores a new refresh token in `family` (a new family when `None`).
    pub async fn issue_refresh(
        &self,
        client_id: &str,
        sub: &str,
        scope: &str,
        family: Option<&str>,
    ) -> Result<String> {
        let token = random_token()?;
        let expires = DateTime::from_millis(
            DateTime::now().timestamp_millis()
                + i64::try_from(self.policy.refresh_ttl.as_millis()).unwrap_or(i64::MAX / 2),
        );
        let doc = RefreshDoc {
            hash: sha256_hex(token.as_bytes()),
            family: family.map_or_else(|| uuid::Uuid::new_v4().simple().to_string(), str::to_owned),
            client_id: client_id.to_owned(),
            sub: sub.to_owned(),
            scope: scope.to_owned(),
            expires_at: expires,
            rotated_at: None,
            successor: None,
            revoked: false,
        };
        self.store
            .refresh
            .insert_one(&doc)
            .await
            .map_err(|e| self.db(&e))?;
        Ok(token)
    }

    /// Exchanges `token` for its successor; returns the old record and the successor.
    pub async fn rotate_refresh(
        &self,
        token: &str,
        client: &ClientDoc,
    ) -> Result<(RefreshDoc, String)> {
        let hash = sha256_hex(token.as_bytes());
        let now = DateTime::now();
        let doc = self
            .store
            .refresh
            .find_one(doc! {"_id": &hash})
            .await
            .map_err(|e| self.db(&e))?
            .ok_or_else(invalid)?;
        if doc.client_id != client.id || doc.revoked || doc.expires_at < now {
            return Err(invalid());
        }
        let claimed = self
            .store
            .refresh
            .find_one_and_update(
                doc! {"_id": &hash, "rotatedAt": null, "revoked": false},
                doc! {"$set": {"rotatedAt": now}},
            )
            .await
            .map_err(|e| self.db(&e))?;
        if claimed.is_some() {
            let successor = self
                .issue_refresh(&doc.client_id, &doc.sub, &doc.scope, Some(&doc.family))
                .await?;
            let sealed = successor_sealer(token).seal(successor.as_bytes(), &hash)?;
            self.store
                .refresh
                .update_one(
                    doc! {"_id": &hash},
                    doc! {"$set": {"successor": hex(&sealed)}},
                )
                .await
                .map_err(|e| self.db(&e))?;
            return Ok((doc, successor));
        }
        self.replayed(token, &hash).await
    }

    /// A rotated token came back: same successor within the grace period,
    /// family revocation after it.
    async fn replayed(&self, token: &str, hash: &str) -> Result<(RefreshDoc, String)> {
        let deadline = tokio::time::Instant::now() + SUCCESSOR_WAIT;
        loop {
            let doc = self
                .store
                .refresh
                .find_one(doc! {"_id": hash})
                .await
                .map_err(|e| self.db(&e))?
                .ok_or_else(invalid)?;
            if doc.revoked {
                return Err(invalid());
            }
            let rotated = doc.rotated_at.map_or(0, |d| d.timestamp_millis());
            if replay(
                rotated,
                DateTime::now().timestamp_millis(),
                self.policy.refresh_grace,
            ) == Replay::Reuse
            {
                tracing::warn!(family = %doc.family, client_id = %doc.client_id, "refresh token reuse; family revoked");
                self.revoke_family(&doc.family).await?;
                return Err(Error::InvalidGrant(
                    "refresh token reuse detected; every token of this grant was revoked".into(),
                ));
            }
            if let Some(sealed) = doc.successor.as_deref().and_then(unhex) {
                let successor = successor_sealer(token)
                    .open(&sealed, "aes-256-gcm", hash)
                    .map_err(|_| invalid())?;
                let successor = String::from_utf8(successor).map_err(|_| invalid())?;
                // The successor itself may have been revoked meanwhile.
                if self.active_refresh(&successor).await?.is_none() {
                    return Err(invalid());
                }
                return Ok((doc, successor));
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::internal(anyhow::anyhow!(
                    "rotated refresh token has no successor after {SUCCESSOR_WAIT:?}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The record of a refresh token that can still be used or introspected.
    pub async fn active_refresh(&self, token: &str) -> Result<Option<RefreshDoc>> {
        let doc = self
            .store
            .refresh
            .find_one(doc! {"_id": sha256_hex(token.as_bytes())})
            .await
            .map_err(|e| self.db(&e))?;
        Ok(doc.filter(|d| !d.revoked && d.rotated_at.is_none() && d.expires_at > DateTime::now()))
    }

    /// Revokes every token of `family`.
    pub async fn revoke_family(&self, family: &str) -> Result<()> {
        self.store
            .refresh
            .update_many(doc! {"family": family}, doc! {"$set": {"revoked": true}})
            .await
            .map_err(|e| self.db(&e))?;
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grace_then_reuse() {
        let grace = Duration::from_secs(10);
        assert_eq!(replay(1_000, 1_000, grace), Replay::Grace);
        assert_eq!(replay(1_000, 11_000, grace), Replay::Grace);
        assert_eq!(replay(1_000, 11_001, grace), Replay::Reuse);
        assert_eq!(replay(1_000, 5_000, Duration::ZERO), Replay::Reuse);
    }

    #[test]
    fn successor_opens_only_with_the_old_token() {
        let sealed = successor_sealer("old").seal(b"new", "h").unwrap();
        assert_eq!(
            successor_sealer("old")
                .open(&sealed, "aes-256-gcm", "h")
                .unwrap(),
            b"new"
        );
        assert!(
            successor_sealer("guess")
                .open(&sealed, "aes-256-gcm", "h")
                .is_err()
        );
        assert_eq!(unhex(&hex(&sealed)).unwrap(), sealed);
        assert!(unhex("zz").is_none());
    }
}
