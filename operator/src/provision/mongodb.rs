//! MongoDB users: created, converged (roles and password) and dropped with standard
//! commands only (`usersInfo`, `createUser`, `updateUser`, `dropUser`), so the same code
//! runs against MongoDB in production and SecantusDB in tests.
//!
//! A user lives in the database it works on (its `authSource`), as in the connection
//! strings built by [`crate::secrets::mongodb_connection_string`].

use crate::content_pipeline::builders::database;
use crate::pod::PlatformSettings;
use crate::secrets::SecretString;
use crate::{Result as CrateResult, labels};
use machina_crds::ContentPipeline;
use mongodb::bson::{Bson, Document, doc};
use mongodb::error::ErrorKind;
use mongodb::options::ClientOptions;
use std::time::Duration;

/// MongoDB's error code for a user that does not exist.
const USER_NOT_FOUND: i32 = 11;
/// Bounds server selection, so an unreachable server fails a reconcile instead of hanging it.
const SERVER_SELECTION_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Errors of the MongoDB provisioner, one per action. Messages name the user and database,
/// never a password or a connection string with credentials.
#[derive(Debug, thiserror::Error)]
pub enum MongoError {
    /// The admin connection string cannot be used (its credentials are scrubbed from `reason`).
    #[error("invalid MongoDB admin connection string: {reason}")]
    InvalidAdminUri {
        /// What the driver said, credentials removed.
        reason: String,
    },
    /// The server could not be reached or refused the admin credentials.
    #[error("cannot connect to MongoDB at {hosts} as admin: {source}")]
    Connect {
        /// Hosts of the admin connection string.
        hosts: String,
        /// The driver's error.
        #[source]
        source: mongodb::error::Error,
    },
    /// `usersInfo` failed.
    #[error("failed to look up MongoDB user {user:?} in database {db:?}: {source}")]
    LookupUser {
        /// The user.
        user: String,
        /// Its database.
        db: String,
        /// The driver's error.
        #[source]
        source: mongodb::error::Error,
    },
    /// `createUser` failed.
    #[error("failed to create MongoDB user {user:?} in database {db:?}: {source}")]
    CreateUser {
        /// The user.
        user: String,
        /// Its database.
        db: String,
        /// The driver's error.
        #[source]
        source: mongodb::error::Error,
    },
    /// `updateUser` (roles and password) failed.
    #[error("failed to update MongoDB user {user:?} in database {db:?}: {source}")]
    UpdateUser {
        /// The user.
        user: String,
        /// Its database.
        db: String,
        /// The driver's error.
        #[source]
        source: mongodb::error::Error,
    },
    /// `dropUser` failed for another reason than the user being absent.
    #[error("failed to drop MongoDB user {user:?} in database {db:?}: {source}")]
    DropUser {
        /// The user.
        user: String,
        /// Its database.
        db: String,
        /// The driver's error.
        #[source]
        source: mongodb::error::Error,
    },
}

impl MongoError {
    /// Short, stable name of the variant, used as a metric label.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::InvalidAdminUri { .. } => "InvalidMongoAdminUri",
            Self::Connect { .. } => "ConnectMongo",
            Self::LookupUser { .. } => "LookupMongoUser",
            Self::CreateUser { .. } => "CreateMongoUser",
            Self::UpdateUser { .. } => "UpdateMongoUser",
            Self::DropUser { .. } => "DropMongoUser",
        }
    }
}

/// Result of the MongoDB provisioner.
pub type Result<T, E = MongoError> = std::result::Result<T, E>;

/// A built-in role on a database.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Role {
    /// Role name, e.g. `readWrite`.
    pub role: String,
    /// Database the role applies to.
    pub db: String,
}

impl Role {
    /// `readWrite` on `db`.
    pub fn read_write(db: impl Into<String>) -> Self {
        Self {
            role: "readWrite".into(),
            db: db.into(),
        }
    }

    /// `read` on `db`.
    pub fn read(db: impl Into<String>) -> Self {
        Self {
            role: "read".into(),
            db: db.into(),
        }
    }

    fn to_bson(&self) -> Bson {
        Bson::Document(doc! { "role": &self.role, "db": &self.db })
    }
}

/// The user a workload should have: its database (where it is defined and authenticates),
/// name, password and exactly these roles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserSpec {
    /// Database the user is defined in and owns.
    pub db: String,
    /// User name.
    pub user: String,
    /// Password; never printed.
    pub password: SecretString,
    /// Every role of the user; `ensure_user` removes any other.
    pub roles: Vec<Role>,
}

impl UserSpec {
    /// A least-privilege user: `readWrite` on its own `db`, `read` on each of `read_dbs`.
    pub fn owner(
        db: impl Into<String>,
        user: impl Into<String>,
        password: SecretString,
        read_dbs: &[String],
    ) -> Self {
        let db = db.into();
        let mut roles = vec![Role::read_write(db.clone())];
        roles.extend(read_dbs.iter().filter(|d| **d != db).map(Role::read));
        roles.sort();
        roles.dedup();
        Self {
            db,
            user: user.into(),
            password,
            roles,
        }
    }

    /// The user of a ContentPipeline: `<base>` named by [`pipeline_user`] in the pipeline's
    /// database, reading `spec.mongodb.readDatabases`.
    pub fn for_pipeline(
        pipeline: &ContentPipeline,
        platform: &PlatformSettings,
        user: impl Into<String>,
        password: SecretString,
    ) -> CrateResult<Self> {
        Ok(Self::owner(
            database(pipeline, platform)?,
            user,
            password,
            &pipeline.spec.mongodb.read_databases,
        ))
    }
}

/// Base name of a pipeline's MongoDB user: `machina.cp.<namespace>.<name>` (unique across
/// namespaces even when two pipelines name the same database). Rotation appends a
/// [`super::CredentialSlot`].
pub fn pipeline_user(pipeline: &ContentPipeline) -> CrateResult<String> {
    Ok(format!(
        "machina.cp.{}.{}",
        labels::namespace(pipeline)?,
        labels::name(pipeline)?
    ))
}

/// What [`MongoProvisioner::ensure_user`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserChange {
    /// The user did not exist and was created.
    Created,
    /// The user existed; its roles and password were set to the spec's.
    Updated,
}

/// Creates, converges and drops MongoDB users with an admin connection.
#[derive(Clone, Debug)]
pub struct MongoProvisioner {
    client: mongodb::Client,
}

impl MongoProvisioner {
    /// Connects with an admin connection string (a user allowed to manage users on every
    /// database, e.g. `userAdminAnyDatabase` or `root`) and checks it answers `ping`.
    pub async fn connect(admin_uri: &SecretString) -> Result<Self> {
        let uri = admin_uri.expose();
        let mut options =
            ClientOptions::parse(uri)
                .await
                .map_err(|e| MongoError::InvalidAdminUri {
                    reason: scrub_credentials(&e.to_string(), uri),
                })?;
        options
            .app_name
            .get_or_insert_with(|| "machina-operator".into());
        options.server_selection_timeout = Some(SERVER_SELECTION_TIMEOUT);
        options.connect_timeout = Some(CONNECT_TIMEOUT);
        let hosts = redacted_hosts(uri);
        let client =
            mongodb::Client::with_options(options).map_err(|e| MongoError::InvalidAdminUri {
                reason: scrub_credentials(&e.to_string(), uri),
            })?;
        client
            .database("admin")
            .run_command(doc! { "ping": 1 })
            .await
            .map_err(|source| MongoError::Connect { hosts, source })?;
        Ok(Self { client })
    }

    /// A provisioner using an existing admin client.
    pub fn from_client(client: mongodb::Client) -> Self {
        Self { client }
    }

    /// Whether `user` exists in `db`.
    pub async fn user_exists(&self, db: &str, user: &str) -> Result<bool> {
        let reply = self
            .client
            .database(db)
            .run_command(doc! { "usersInfo": { "user": user, "db": db } })
            .await
            .map_err(|source| MongoError::LookupUser {
                user: user.into(),
                db: db.into(),
                source,
            })?;
        Ok(reply
            .get_array("users")
            .map(|users| !users.is_empty())
            .unwrap_or(false))
    }

    /// Makes `spec.user` exist in `spec.db` with exactly `spec.roles` and `spec.password`:
    /// `createUser` when missing, else `updateUser` (which also rotates the password: when
    /// it returns, the new password authenticates and the old one no longer does).
    pub async fn ensure_user(&self, spec: &UserSpec) -> Result<UserChange> {
        if !self.user_exists(&spec.db, &spec.user).await? {
            let created = self
                .client
                .database(&spec.db)
                .run_command(user_command("createUser", spec))
                .await;
            match created {
                Ok(_) => {
                    tracing::info!(user = %spec.user, db = %spec.db, "created MongoDB user");
                    return Ok(UserChange::Created);
                }
                // Created concurrently (another replica, a retried reconcile): converge it.
                Err(_) if self.user_exists(&spec.db, &spec.user).await? => {}
                Err(source) => {
                    return Err(MongoError::CreateUser {
                        user: spec.user.clone(),
                        db: spec.db.clone(),
                        source,
                    });
                }
            }
        }
        self.client
            .database(&spec.db)
            .run_command(user_command("updateUser", spec))
            .await
            .map_err(|source| MongoError::UpdateUser {
                user: spec.user.clone(),
                db: spec.db.clone(),
                source,
            })?;
        tracing::debug!(user = %spec.user, db = %spec.db, "converged MongoDB user");
        Ok(UserChange::Updated)
    }

    /// Drops `user` from `db`. Returns whether it existed; a missing user is not an error.
    pub async fn drop_user(&self, db: &str, user: &str) -> Result<bool> {
        let dropped = self
            .client
            .database(db)
            .run_command(doc! { "dropUser": user })
            .await;
        match dropped {
            Ok(_) => {
                tracing::info!(user, db, "dropped MongoDB user");
                Ok(true)
            }
            Err(e) if command_code(&e) == Some(USER_NOT_FOUND) => Ok(false),
            Err(source) => Err(MongoError::DropUser {
                user: user.into(),
                db: db.into(),
                source,
            }),
        }
    }
}

/// `createUser` / `updateUser` with the password and the full list of roles.
fn user_command(command: &str, spec: &UserSpec) -> Document {
    let roles: Vec<Bson> = spec.roles.iter().map(Role::to_bson).collect();
    let mut cmd = Document::new();
    cmd.insert(command, spec.user.as_str());
    cmd.insert("pwd", spec.password.expose());
    cmd.insert("roles", roles);
    cmd
}

fn command_code(error: &mongodb::error::Error) -> Option<i32> {
    match error.kind.as_ref() {
        ErrorKind::Command(command) => Some(command.code),
        _ => None,
    }
}

/// The hosts of a connection string, without scheme, credentials, database or options.
fn redacted_hosts(uri: &str) -> String {
    let rest = uri.split_once("://").map_or(uri, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, hosts)| hosts)
        .to_owned()
}

/// `message` with the credentials of `uri` (user info, and the password alone) removed.
fn scrub_credentials(message: &str, uri: &str) -> String {
    let rest = uri.split_once("://").map_or(uri, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let Some((userinfo, _)) = authority.rsplit_once('@') else {
        return message.to_owned();
    };
    let mut scrubbed = message.replace(userinfo, "<credentials>");
    if let Some((_, password)) = userinfo.split_once(':')
        && !password.is_empty()
    {
        scrubbed = scrubbed.replace(password, "<redacted>");
    }
    scrubbed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{mk_pipeline, mk_platform};

    #[test]
    fn owner_reads_other_databases_and_owns_its_own() {
        let spec = UserSpec::owner(
            "acme_cp",
            "u",
            SecretString::new("pw"),
            &[
                "acme_content".into(),
                "acme_cp".into(),
                "acme_content".into(),
            ],
        );
        assert_eq!(
            spec.roles,
            vec![Role::read("acme_content"), Role::read_write("acme_cp")]
        );
    }

    #[test]
    fn pipeline_user_spec_from_the_sample() {
        let platform = PlatformSettings::from_platform(&mk_platform()).expect("settings");
        let pipeline = mk_pipeline();
        let base = pipeline_user(&pipeline).expect("name");
        assert_eq!(base, "machina.cp.shop.product-copy");
        let spec = UserSpec::for_pipeline(&pipeline, &platform, base, SecretString::new("pw"))
            .expect("spec");
        assert_eq!(spec.db, "acme_cp_shop_product_copy");
        assert_eq!(
            spec.roles,
            vec![
                Role::read("acme_content"),
                Role::read_write("acme_cp_shop_product_copy")
            ]
        );
        assert!(!format!("{spec:?}").contains("pw\""));
    }

    #[test]
    fn user_command_carries_the_full_role_list() {
        let spec = UserSpec::owner("db", "u", SecretString::new("pw"), &["r".into()]);
        let cmd = user_command("updateUser", &spec);
        assert_eq!(cmd.keys().next().map(String::as_str), Some("updateUser"));
        assert_eq!(cmd.get_str("pwd").ok(), Some("pw"));
        assert_eq!(cmd.get_array("roles").map(Vec::len).ok(), Some(2));
    }

    #[test]
    fn hosts_and_scrubbing_never_keep_the_password() {
        let uri = "mongodb://root:hunter2@db-0:27017,db-1:27017/admin?authSource=admin";
        assert_eq!(redacted_hosts(uri), "db-0:27017,db-1:27017");
        let message = format!("cannot parse {uri}: bad password hunter2");
        let scrubbed = scrub_credentials(&message, uri);
        assert!(!scrubbed.contains("hunter2"), "{scrubbed}");
        assert_eq!(
            redacted_hosts("mongodb+srv://cluster.example"),
            "cluster.example"
        );
    }
}
