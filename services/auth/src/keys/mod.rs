//! [`KeyRing`]: Ed25519 signing keys in MongoDB, rotated with overlap.
//!
//! The newest key signs. When it is older than `KEY_ROTATION_DAYS` any replica
//! inserts the next generation (a unique index makes exactly one insert win).
//! Older keys stay in the JWKS until every token they signed has expired, then
//! they are deleted. Private keys are sealed with `KEY_ENCRYPTION_KEY` and never
//! leave the process.

pub mod rotation;

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::Duration,
};

use anyhow::Context as _;
use aws_lc_rs::{
    rand::SystemRandom,
    signature::{Ed25519KeyPair, KeyPair as _},
};
use base64::{
    Engine as _,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use futures::TryStreamExt as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use mongodb::{
    Collection,
    bson::{DateTime, doc},
};
use serde::Serialize;
use serde_json::{Value, json};

use crate::{crypto::Sealer, model::KeyDoc, store::is_duplicate};
use rotation::KeyAge;

/// Clock skew allowed on top of the token lifetime before a retired key disappears.
const LEEWAY: Duration = Duration::from_secs(60);

/// One usable key.
pub struct SigningKey {
    /// `kid`.
    pub kid: String,
    generation: i64,
    created_ms: i64,
    x: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

/// The loaded keys, newest last.
#[derive(Debug, Default)]
struct Loaded {
    keys: Vec<Arc<SigningKey>>,
    jwks: Value,
}

/// Signs tokens with the current key and publishes the JWKS.
#[derive(Debug)]
pub struct KeyRing {
    collection: Collection<KeyDoc>,
    sealer: Sealer,
    rotation: Duration,
    retention: Duration,
    loaded: RwLock<Arc<Loaded>>,
}

impl KeyRing {
    /// A ring over `collection`; call [`KeyRing::refresh`] before signing.
    pub fn new(
        collection: Collection<KeyDoc>,
        sealer: Sealer,
        rotation: Duration,
        token_ttl: Duration,
    ) -> Self {
        Self {
            collection,
            sealer,
            rotation,
            retention: token_ttl + LEEWAY,
            loaded: RwLock::new(Arc::new(Loaded::default())),
        }
    }

    fn current(&self) -> Arc<Loaded> {
        self.loaded
            .read()
            .map(|l| Arc::clone(&l))
            .unwrap_or_else(|p| Arc::clone(&p.into_inner()))
    }

    /// The JWKS document.
    pub fn jwks(&self) -> Value {
        self.current().jwks.clone()
    }

    /// True once a signing key is loaded.
    pub fn is_ready(&self) -> bool {
        !self.current().keys.is_empty()
    }

    /// Signs `claims` with the newest key (header carries its `kid`).
    pub fn sign<T: Serialize>(&self, claims: &T) -> anyhow::Result<String> {
        let loaded = self.current();
        let key = loaded.keys.last().context("no signing key loaded yet")?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, claims, &key.encoding).context("Failed to sign a token")
    }

    /// The verification key for `kid`, if still published.
    pub fn decoding_key(&self, kid: &str) -> Option<DecodingKey> {
        self.current()
            .keys
            .iter()
            .find(|k| k.kid == kid)
            .map(|k| k.decoding.clone())
    }

    /// Loads the keys, rotates when due, drops expired keys, and republishes.
    pub async fn refresh(&self) -> anyhow::Result<()> {
        let now = DateTime::now().timestamp_millis();
        let mut docs = self.load().await?;
        let ages = |docs: &[KeyDoc]| -> Vec<KeyAge> {
            docs.iter()
                .map(|d| KeyAge {
                    generation: d.generation,
                    created_ms: d.created_at.timestamp_millis(),
                })
                .collect()
        };
        if rotation::rotation_due(&ages(&docs), now, self.rotation) {
            let next = docs.iter().map(|d| d.generation).max().unwrap_or(0) + 1;
            self.insert(next).await?;
            docs = self.load().await?;
        }
        self.publish(docs, now).await
    }

    /// Inserts the next generation now, whatever the age of the current key.
    pub async fn rotate_now(&self) -> anyhow::Result<String> {
        let docs = self.load().await?;
        let next = docs.iter().map(|d| d.generation).max().unwrap_or(0) + 1;
        let kid = self.insert(next).await?;
        let docs = self.load().await?;
        self.publish(docs, DateTime::now().timestamp_millis())
            .await?;
        Ok(kid)
    }

    async fn load(&self) -> anyhow::Result<Vec<KeyDoc>> {
        self.collection
            .find(doc! {})
            .await
            .context("Failed to read signing keys")?
            .try_collect()
            .await
            .context("Failed to read signing keys")
    }

    /// Generates and stores generation `generation`; losing the race to another
    /// replica is fine (its key is loaded instead).
    async fn insert(&self, generation: i64) -> anyhow::Result<String> {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .map_err(|_| anyhow::anyhow!("Ed25519 key generation failed"))?;
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref())
            .map_err(|_| anyhow::anyhow!("generated key rejected"))?;
        let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
        let kid = format!(
            "k{generation}-{}",
            &crate::crypto::sha256_hex(x.as_bytes())[..12]
        );
        let sealed = self.sealer.seal(pkcs8.as_ref(), &kid)?;
        let key = KeyDoc {
            kid: kid.clone(),
            generation,
            alg: "EdDSA".into(),
            x,
            private: STANDARD.encode(sealed),
            scheme: self.sealer.scheme().into(),
            created_at: DateTime::now(),
        };
        match self.collection.insert_one(&key).await {
            Ok(_) => {
                tracing::info!(kid = %kid, generation, "new signing key");
                Ok(kid)
            }
            Err(e) if is_duplicate(&e) => Ok(kid),
            Err(e) => Err(e).context("Failed to store a signing key"),
        }
    }

    /// Keeps the published keys (opening new ones), deletes the rest.
    async fn publish(&self, docs: Vec<KeyDoc>, now: i64) -> anyhow::Result<()> {
        let ages: Vec<KeyAge> = docs
            .iter()
            .map(|d| KeyAge {
                generation: d.generation,
                created_ms: d.created_at.timestamp_millis(),
            })
            .collect();
        let keep = rotation::published(&ages, now, self.retention);
        let previous: HashMap<String, Arc<SigningKey>> = self
            .current()
            .keys
            .iter()
            .map(|k| (k.kid.clone(), Arc::clone(k)))
            .collect();
        let mut keys = Vec::new();
        for d in docs {
            if !keep.contains(&d.generation) {
                self.collection
                    .delete_one(doc! {"_id": &d.kid})
                    .await
                    .context("Failed to delete an expired signing key")?;
                tracing::info!(kid = %d.kid, "signing key retired");
                continue;
            }
            let key = match previous.get(&d.kid) {
                Some(k) => Arc::clone(k),
                None => Arc::new(self.open(&d)?),
            };
            keys.push(key);
        }
        keys.sort_by_key(|k| (k.generation, k.created_ms));
        let jwks = json!({ "keys": keys.iter().map(|k| json!({
            "kty": "OKP", "crv": "Ed25519", "x": k.x, "kid": k.kid, "alg": "EdDSA", "use": "sig",
        })).collect::<Vec<_>>() });
        let loaded = Arc::new(Loaded { keys, jwks });
        match self.loaded.write() {
            Ok(mut l) => *l = loaded,
            Err(p) => *p.into_inner() = loaded,
        }
        Ok(())
    }

    fn open(&self, d: &KeyDoc) -> anyhow::Result<SigningKey> {
        let sealed = STANDARD
            .decode(&d.private)
            .context("signing key is not base64")?;
        let pkcs8 = self
            .sealer
            .open(&sealed, &d.scheme, &d.kid)
            .with_context(|| format!("Failed to open signing key {} (is KEY_ENCRYPTION_KEY the one it was sealed with?)", d.kid))?;
        Ed25519KeyPair::from_pkcs8(&pkcs8)
            .map_err(|_| anyhow::anyhow!("signing key {} is not Ed25519 PKCS#8", d.kid))?;
        Ok(SigningKey {
            kid: d.kid.clone(),
            generation: d.generation,
            created_ms: d.created_at.timestamp_millis(),
            encoding: EncodingKey::from_ed_der(&pkcs8),
            decoding: DecodingKey::from_ed_components(&d.x).context("bad public key")?,
            x: d.x.clone(),
        })
    }

    /// Refreshes every `every` until the process ends (rotation and retirement).
    pub fn spawn_refresher(self: &Arc<Self>, every: Duration) -> tokio::task::JoinHandle<()> {
        let ring = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                if let Err(e) = ring.refresh().await {
                    tracing::warn!(error = ?e, "signing key refresh failed");
                }
            }
        })
    }
}
