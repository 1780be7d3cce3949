//! Registration: everything is validated here first, then auth creates the
//! credentials (the password never reaches this service's database), then the
//! profile is stored under the id auth returned.
//!
//! Auth has no endpoint to delete a user, so a failed profile insert cannot be
//! compensated. Registration is made retry-safe instead: when auth answers that the
//! email is taken, the same email and password are checked with auth's login; if they
//! match and no profile has that id yet, the earlier half-finished registration is
//! resumed with that id. Anyone else gets the usual 409.

use mongodb::bson::{DateTime, doc};

use super::{Users, duplicate_or};
use crate::{
    auth_client::Registered,
    error::{Error, Result},
    events::ChangeKind,
    model::{ProfileDoc, RegisterRequest},
    validate,
};

impl Users {
    /// Registers a user; `forwarded_for` is passed to auth for its login throttling.
    pub async fn register(
        &self,
        req: RegisterRequest,
        forwarded_for: Option<&str>,
    ) -> Result<ProfileDoc> {
        let email = validate::email(&req.email)?;
        let username = validate::username(&req.username)?;
        let display_name = req
            .display_name
            .as_deref()
            .map(validate::display_name)
            .transpose()?;
        if req.password.is_empty() {
            return Err(Error::invalid("password", "is required"));
        }
        self.traits.validate(&req.traits)?;
        let email_key = validate::key(&email);
        let username_key = validate::key(&username);
        self.check_free(&email_key, &username_key).await?;

        let id = match self
            .auth
            .register(&email, &req.password, forwarded_for)
            .await?
        {
            Registered::Created(id) => id,
            Registered::EmailTaken => self.resumable(&email, &req.password, forwarded_for).await?,
        };
        let now = DateTime::now();
        let mut profile = ProfileDoc {
            id,
            email,
            email_key,
            username,
            username_key,
            display_name_key: display_name.as_deref().map(validate::key),
            display_name,
            traits: req.traits.to_string(),
            preferences: "{}".to_owned(),
            created_at: now,
            updated_at: now,
            deleted_at: None,
            erased_at: None,
            version: 1,
            pending_events: Vec::new(),
            has_pending: false,
        };
        self.outbox.stage(ChangeKind::Created, &mut profile);
        self.store
            .profiles
            .insert_one(&profile)
            .await
            .map_err(duplicate_or)?;
        self.outbox.wake();
        Ok(profile)
    }

    /// 409 when a profile (in any state but erased) holds the email or username, so
    /// auth is not asked to create credentials that could not get a profile.
    async fn check_free(&self, email_key: &str, username_key: &str) -> Result<()> {
        for (key, value, field) in [
            ("emailKey", email_key, "email"),
            ("usernameKey", username_key, "username"),
        ] {
            if self
                .store
                .profiles
                .find_one(doc! {key: value})
                .await?
                .is_some()
            {
                return Err(Error::conflict(format!("this {field} is already taken")));
            }
        }
        Ok(())
    }

    /// The id of credentials auth already holds for `email`, if the password matches
    /// and no profile uses that id: a registration whose profile insert failed.
    async fn resumable(
        &self,
        email: &str,
        password: &str,
        forwarded_for: Option<&str>,
    ) -> Result<String> {
        let taken = || Error::conflict("this email is already taken");
        let Some(id) = self.auth.verify(email, password, forwarded_for).await? else {
            return Err(taken());
        };
        if self.store.any(&id).await?.is_some() {
            return Err(taken());
        }
        tracing::info!(user_id = %id, "resuming a registration whose profile was not stored");
        Ok(id)
    }
}
