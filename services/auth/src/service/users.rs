//! Users who sign in: registration, password login (throttled), password change,
//! deletion.

use mongodb::bson::{DateTime, doc};

use super::{Auth, make_hash, verify_hash};
use crate::{Error, Result, model::UserDoc, roles::valid_name, store::is_duplicate};

/// Shortest accepted password (NIST SP 800-63B asks for at least 8).
pub const MIN_PASSWORD: usize = 10;
/// Longest accepted password, in bytes.
pub const MAX_PASSWORD: usize = 256;

/// The normalised email, or why it is not one.
pub fn normalise_email(email: &str) -> Result<String> {
    let email = email.trim().to_lowercase();
    let ok = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if ok {
        Ok(email)
    } else {
        Err(Error::invalid("email", "not a valid email address"))
    }
}

/// Checks a new password's length; `field` names it in the error.
pub fn check_password(field: &str, password: &str) -> Result<()> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD {
        return Err(Error::invalid(
            field,
            format!("at least {MIN_PASSWORD} characters"),
        ));
    }
    if password.len() > MAX_PASSWORD {
        return Err(Error::invalid(
            field,
            format!("at most {MAX_PASSWORD} bytes"),
        ));
    }
    Ok(())
}

impl Auth {
    /// Registers a user with the default roles.
    pub async fn register(&self, email: &str, password: &str) -> Result<UserDoc> {
        let email = normalise_email(email)?;
        check_password("password", password)?;
        let now = DateTime::now();
        let user = UserDoc {
            id: uuid::Uuid::new_v4().to_string(),
            email,
            password_hash: make_hash(password.to_owned(), self.hash_params).await?,
            roles: self.default_user_roles.clone(),
            created_at: now,
            password_changed_at: now,
        };
        match self.store.users.insert_one(&user).await {
            Ok(_) => Ok(user),
            Err(e) if is_duplicate(&e) => {
                Err(Error::conflict("a user with this email already exists"))
            }
            Err(e) => Err(self.db(&e)),
        }
    }

    /// Checks `email`/`password` behind the throttle: 429 while locked, and the
    /// same `invalid_grant` for an unknown email and a wrong password.
    pub async fn login(&self, email: &str, password: &str, ip: &str) -> Result<UserDoc> {
        let account = email.trim().to_lowercase();
        self.throttle.check(&account, ip).await?;
        let user = self
            .store
            .users
            .find_one(doc! {"email": &account})
            .await
            .map_err(|e| self.db(&e))?;
        let hash = user
            .as_ref()
            .map_or_else(|| self.dummy_hash.clone(), |u| u.password_hash.clone());
        let matches = verify_hash(password.to_owned(), hash).await?;
        match user {
            Some(user) if matches => {
                self.throttle.success(&account, ip).await?;
                Ok(user)
            }
            _ => {
                self.throttle.failure(&account, ip).await?;
                Err(Error::InvalidGrant("invalid email or password".into()))
            }
        }
    }

    /// A user by id (404 if absent).
    pub async fn user(&self, id: &str) -> Result<UserDoc> {
        self.store
            .users
            .find_one(doc! {"_id": id})
            .await
            .map_err(|e| self.db(&e))?
            .ok_or_else(|| Error::not_found(format!("user {id:?}")))
    }

    /// Changes the password after checking the current one (throttled like a
    /// login), and revokes every refresh token of the user.
    pub async fn change_password(
        &self,
        id: &str,
        current: &str,
        new: &str,
        ip: &str,
    ) -> Result<()> {
        check_password("newPassword", new)?;
        let user = self.user(id).await?;
        self.throttle.check(&user.email, ip).await?;
        if !verify_hash(current.to_owned(), user.password_hash.clone()).await? {
            self.throttle.failure(&user.email, ip).await?;
            return Err(Error::invalid("currentPassword", "does not match"));
        }
        let hash = make_hash(new.to_owned(), self.hash_params).await?;
        self.store
            .users
            .update_one(
                doc! {"_id": id},
                doc! {"$set": {"passwordHash": hash, "passwordChangedAt": DateTime::now()}},
            )
            .await
            .map_err(|e| self.db(&e))?;
        self.store
            .refresh
            .update_many(doc! {"sub": id}, doc! {"$set": {"revoked": true}})
            .await
            .map_err(|e| self.db(&e))?;
        Ok(())
    }

    /// Deletes user `id`: the document (email, password hash, roles), every refresh
    /// token (all families) and every login session, so refresh, code exchange and new
    /// logins fail. Idempotent: every step also runs when the document is already gone,
    /// so a retry finishes a deletion interrupted half-way. Access tokens already issued
    /// are self-contained JWTs and stay valid until they expire (`ACCESS_TOKEN_TTL`).
    pub async fn delete_user(&self, id: &str) -> Result<()> {
        self.store
            .users
            .delete_one(doc! {"_id": id})
            .await
            .map_err(|e| self.db(&e))?;
        // A grant racing with the delete may still store a refresh token after this;
        // the refresh grant looks the user up, so that token is refused all the same.
        self.store
            .refresh
            .update_many(doc! {"sub": id}, doc! {"$set": {"revoked": true}})
            .await
            .map_err(|e| self.db(&e))?;
        self.end_sessions_of(id).await
    }

    /// Replaces a user's roles.
    pub async fn set_user_roles(&self, id: &str, roles: Vec<String>) -> Result<UserDoc> {
        if let Some((i, _)) = roles.iter().enumerate().find(|(_, r)| !valid_name(r)) {
            return Err(Error::invalid(
                &format!("roles[{i}]"),
                "1-64 of A-Z a-z 0-9 _ . : -",
            ));
        }
        let outcome = self
            .store
            .users
            .update_one(doc! {"_id": id}, doc! {"$set": {"roles": &roles}})
            .await
            .map_err(|e| self.db(&e))?;
        if outcome.matched_count == 0 {
            return Err(Error::not_found(format!("user {id:?}")));
        }
        self.user(id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_or_refused() {
        assert_eq!(
            normalise_email(" Ada@Example.COM ").unwrap(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "a b@example.com",
            "ada@example",
            "a@b@c.d",
        ] {
            assert!(normalise_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn password_length_is_bounded() {
        assert!(check_password("password", "short").is_err());
        assert!(check_password("password", "long enough!").is_ok());
        let err = check_password("newPassword", &"x".repeat(300)).unwrap_err();
        assert!(err.to_string().contains("newPassword"), "{err}");
    }
}
