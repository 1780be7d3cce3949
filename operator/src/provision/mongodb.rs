//! MongoDB users: created, converged (roles and password) and dropped with standard
//! commands only (`usersInfo`, `createUser`, `updateUser`, `dropUser`), so the same code
//! runs against MongoDB in production and SecantusDB in tests. Custom collection-scoped
//! roles live in [`roles`].
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

mod roles;
pub use roles::{Privilege, RoleSpec};

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
    /// An analytics worker's progress document could not be read.
    #[error(
        "failed to read the progress of analytics output {output:?} in database {db:?}: {source}"
    )]
    ReadProgress {
        /// The job's output collection (the document's `_id`).
        output: String,
        /// The analytics database.
        db: String,
        /// The driver's error.
        #[source]
        source: mongodb::error::Error,
    },
    /// `rolesInfo`, `createRole` or `updateRole` failed.
    #[error("failed to converge MongoDB role {role:?} in database {db:?}: {source}")]
    EnsureRole {
        /// The role.
        role: String,
        /// Its database.
        db: String,
        /// The driver's error.
        #[source]
        source: mongodb::error::Error,
    },
    /// `dropRole` failed for another reason than the role being absent.
    #[error("failed to drop MongoDB role {role:?} in database {db:?}: {source}")]
    DropRole {
        /// The role.
        role: String,
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

/// Collection where the analytics worker reports progress (see `services/analytics`).
pub const ANALYTICS_PROGRESS_COLLECTION: &str = "analytics_job_progress";

/// What an analytics worker reported: the figures an AnalyticsJob's status shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AnalyticsProgress {
    /// Events aggregated since the job was created.
    pub events_processed: i64,
    /// Newest event aggregated.
    pub last_event_time: Option<k8s_openapi::jiff::Timestamp>,
    /// Last successful batch or run.
    pub last_success_time: Option<k8s_openapi::jiff::Timestamp>,
    /// Last report.
    pub updated_at: Option<k8s_openapi::jiff::Timestamp>,
}

impl AnalyticsProgress {
    /// Reads the worker's document (`eventsProcessed`, `lastEventTime`, `lastSuccessTime`,
    /// `updatedAt`); missing or mistyped fields read as absent.
    pub fn from_document(document: &Document) -> Self {
        let time = |key: &str| {
            document.get_datetime(key).ok().and_then(|t| {
                k8s_openapi::jiff::Timestamp::from_millisecond(t.timestamp_millis()).ok()
            })
        };
        let events = match document.get("eventsProcessed") {
            Some(Bson::Int64(n)) => *n,
            Some(Bson::Int32(n)) => i64::from(*n),
            Some(Bson::Double(n)) if n.is_finite() => *n as i64,
            _ => 0,
        };
        Self {
            events_processed: events,
            last_event_time: time("lastEventTime"),
            last_success_time: time("lastSuccessTime"),
            updated_at: time("updatedAt"),
        }
    }
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
            Self::EnsureRole { .. } => "EnsureMongoRole",
            Self::DropRole { .. } => "DropMongoRole",
            Self::ReadProgress { .. } => "ReadAnalyticsProgress",
        }
    }
}

/// Result of the MongoDB provisioner.
pub type Result<T, E = MongoError> = std::result::Result<T, E>;

/// A role a user is granted: built-in (`readWrite`) or custom ([`RoleSpec`]).
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

    /// The custom role `spec`.
    pub fn custom(spec: &RoleSpec) -> Self {
        Self {
            role: spec.role.clone(),
            db: spec.db.clone(),
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

    /// The progress an analytics worker reported for output collection `output` in `db`
    /// (collection `analytics_job_progress`, `_id` = the output collection).
    pub async fn analytics_progress(
        &self,
        db: &str,
        output: &str,
    ) -> Result<Option<AnalyticsProgress>> {
        let found = self
            .client
            .database(db)
            .collection::<Document>(ANALYTICS_PROGRESS_COLLECTION)
            .find_one(doc! {"_id": output})
            .await
            .map_err(|source| MongoError::ReadProgress {
                output: output.into(),
                db: db.into(),
                source,
            })?;
        Ok(found.as_ref().map(AnalyticsProgress::from_document))
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
    fn progress_reads_the_workers_document_and_tolerates_gaps() {
        let at = mongodb::bson::DateTime::from_millis(1_764_000_000_000);
        let full = doc! {
            "_id": "rollups_x", "eventsProcessed": 42_i64, "lateEvents": 1_i64,
            "lastEventTime": at, "lastSuccessTime": at, "updatedAt": at,
        };
        let progress = AnalyticsProgress::from_document(&full);
        assert_eq!(progress.events_processed, 42);
        let expected = k8s_openapi::jiff::Timestamp::from_millisecond(1_764_000_000_000).ok();
        assert_eq!(progress.last_event_time, expected);
        assert_eq!(progress.updated_at, expected);
        let sparse = AnalyticsProgress::from_document(
            &doc! {"eventsProcessed": 7_i32, "lastEventTime": "soon"},
        );
        assert_eq!(sparse.events_processed, 7);
        assert_eq!(sparse.last_event_time, None);
    }

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
