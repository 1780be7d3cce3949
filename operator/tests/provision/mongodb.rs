//! MongoProvisioner against SecantusDB: users are created once, converge, rotate and drop.

use super::{must, secret, services};
use machina_devenv::{BackingServices, unique_database_name};
use machina_operator::provision::mongodb::{
    MongoError, MongoProvisioner, Privilege, Role, RoleSpec, UserChange, UserSpec,
};
use machina_operator::secrets::{SecretString, generate_password};
use mongodb::bson::{Document, doc};

async fn provisioner(services: &BackingServices) -> MongoProvisioner {
    must(
        MongoProvisioner::connect(&secret(&services.mongodb_uri)).await,
        "connect the MongoDB provisioner",
    )
}

fn password() -> SecretString {
    generate_password().expect("password")
}

/// Whether `user`/`password` can authenticate against `db` (a fresh client: no pooled,
/// already-authenticated connection is reused).
async fn can_login(services: &BackingServices, db: &str, user: &str, pw: &SecretString) -> bool {
    services.mongodb_as(user, pw.expose(), db).await.is_ok()
}

async fn drop_databases(services: &BackingServices, dbs: &[&str]) {
    let admin = must(services.mongodb().await, "connect as admin");
    for db in dbs {
        let _ = admin.database(db).drop().await;
    }
}

#[tokio::test]
async fn ensure_user_is_idempotent_and_grants_only_its_own_database() {
    let services = services();
    let mongo = provisioner(&services).await;
    let (own, readable, foreign) = (
        unique_database_name("own"),
        unique_database_name("readable"),
        unique_database_name("foreign"),
    );
    let admin = must(services.mongodb().await, "connect as admin");
    must(
        admin
            .database(&readable)
            .collection::<Document>("docs")
            .insert_one(doc! { "sku": "ABC-123" })
            .await,
        "seed the readable database",
    );

    let spec = UserSpec::owner(
        &own,
        "machina.cp.t.copy",
        password(),
        std::slice::from_ref(&readable),
    );
    assert!(!must(
        mongo.user_exists(&own, &spec.user).await,
        "usersInfo"
    ));
    assert_eq!(
        must(mongo.ensure_user(&spec).await, "first ensure"),
        UserChange::Created
    );
    assert_eq!(
        must(mongo.ensure_user(&spec).await, "second ensure"),
        UserChange::Updated
    );
    assert!(must(mongo.user_exists(&own, &spec.user).await, "usersInfo"));

    let client = must(
        services
            .mongodb_as(&spec.user, spec.password.expose(), &own)
            .await,
        "the provisioned user authenticates",
    );
    must(
        client
            .database(&own)
            .collection::<Document>("generated")
            .insert_one(doc! { "page": 1 })
            .await,
        "the user writes its own database",
    );
    let found = must(
        client
            .database(&readable)
            .collection::<Document>("docs")
            .find_one(doc! {})
            .await,
        "the user reads a readDatabase",
    );
    assert!(found.is_some());
    let refused_write = client
        .database(&readable)
        .collection::<Document>("docs")
        .insert_one(doc! { "x": 1 })
        .await
        .expect_err("read-only on readDatabases");
    assert!(
        refused_write.to_string().contains("not authorized"),
        "{refused_write}"
    );
    let refused_other = client
        .database(&foreign)
        .collection::<Document>("x")
        .insert_one(doc! { "x": 1 })
        .await
        .expect_err("no access to another database");
    assert!(
        refused_other.to_string().contains("not authorized"),
        "{refused_other}"
    );

    assert!(must(mongo.drop_user(&own, &spec.user).await, "drop"));
    drop_databases(&services, &[&own, &readable, &foreign]).await;
}

#[tokio::test]
async fn a_new_password_replaces_the_old_one_and_roles_converge() {
    let services = services();
    let mongo = provisioner(&services).await;
    let (own, readable) = (
        unique_database_name("rotate"),
        unique_database_name("rot_read"),
    );
    let first = UserSpec::owner(
        &own,
        "rotating",
        password(),
        std::slice::from_ref(&readable),
    );
    must(mongo.ensure_user(&first).await, "create");
    assert!(can_login(&services, &own, &first.user, &first.password).await);

    // Rotation in place, and readDatabases emptied.
    let second = UserSpec::owner(&own, "rotating", password(), &[]);
    assert_eq!(
        must(mongo.ensure_user(&second).await, "rotate"),
        UserChange::Updated
    );
    assert!(
        !can_login(&services, &own, &first.user, &first.password).await,
        "the old password must stop working"
    );
    let client = must(
        services
            .mongodb_as(&second.user, second.password.expose(), &own)
            .await,
        "the new password works",
    );
    let refused = client
        .database(&readable)
        .collection::<Document>("docs")
        .find_one(doc! {})
        .await
        .expect_err("the read role was removed");
    assert!(refused.to_string().contains("not authorized"), "{refused}");

    must(mongo.drop_user(&own, "rotating").await, "drop");
    drop_databases(&services, &[&own, &readable]).await;
}

#[tokio::test]
async fn rotation_through_two_slots_keeps_both_users_working_until_the_old_is_dropped() {
    use machina_operator::provision::CredentialSlot;
    let services = services();
    let mongo = provisioner(&services).await;
    let own = unique_database_name("slots");
    let current = CredentialSlot::A;
    let old = UserSpec::owner(&own, current.user("machina.cp.t.slots"), password(), &[]);
    must(mongo.ensure_user(&old).await, "current slot");
    let new = UserSpec::owner(
        &own,
        current.other().user("machina.cp.t.slots"),
        password(),
        &[],
    );
    must(mongo.ensure_user(&new).await, "next slot");
    assert!(
        can_login(&services, &own, &old.user, &old.password).await,
        "pods not yet rolled"
    );
    assert!(
        can_login(&services, &own, &new.user, &new.password).await,
        "rolled pods"
    );
    assert!(must(
        mongo.drop_user(&own, &old.user).await,
        "drop the old slot after the rollout"
    ));
    assert!(!can_login(&services, &own, &old.user, &old.password).await);
    assert!(can_login(&services, &own, &new.user, &new.password).await);
    must(mongo.drop_user(&own, &new.user).await, "drop");
    drop_databases(&services, &[&own]).await;
}

#[tokio::test]
async fn drop_user_twice_is_ok_and_the_user_can_no_longer_authenticate() {
    let services = services();
    let mongo = provisioner(&services).await;
    let own = unique_database_name("drop");
    let spec = UserSpec::owner(&own, "dropped", password(), &[]);
    must(mongo.ensure_user(&spec).await, "create");
    assert!(must(mongo.drop_user(&own, "dropped").await, "first drop"));
    assert!(!must(mongo.drop_user(&own, "dropped").await, "second drop"));
    assert!(!must(mongo.user_exists(&own, "dropped").await, "usersInfo"));
    assert!(!can_login(&services, &own, &spec.user, &spec.password).await);
    drop_databases(&services, &[&own]).await;
}

#[tokio::test]
async fn errors_name_the_action_and_never_the_password() {
    let services = services();
    let mongo = provisioner(&services).await;
    let own = unique_database_name("bad_role");
    let mut spec = UserSpec::owner(&own, "badrole", password(), &[]);
    spec.roles.push(Role {
        role: "noSuchRole".into(),
        db: own.clone(),
    });
    let err = mongo.ensure_user(&spec).await.expect_err("unknown role");
    assert!(matches!(err, MongoError::CreateUser { .. }), "{err:?}");
    assert!(err.to_string().contains("badrole"), "{err}");
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains(spec.password.expose()), "{text}");
    }

    let mut wrong_admin = url_with_password(services.mongodb_uri.expose(), "WrongPassword123");
    wrong_admin.push_str("&serverSelectionTimeoutMS=3000");
    let err = MongoProvisioner::connect(&SecretString::new(&wrong_admin))
        .await
        .expect_err("wrong admin password");
    assert!(matches!(err, MongoError::Connect { .. }), "{err:?}");
    assert!(!err.to_string().contains("WrongPassword123"), "{err}");
}

/// `uri` with its password replaced.
fn url_with_password(uri: &str, password: &str) -> String {
    let (scheme, rest) = uri.split_once("://").expect("scheme");
    let (userinfo, hosts) = rest.split_once('@').expect("credentials in the admin URI");
    let user = userinfo.split(':').next().unwrap_or_default();
    let mut out = format!("{scheme}://{user}:{password}@{hosts}");
    if !out.contains('?') {
        out.push('?');
        out.push_str("authSource=admin");
    }
    out
}

/// An AnalyticsJob-style user: a custom role with collection-scoped privileges. SecantusDB
/// enforces actions per database but not the collection of a privilege, so the collection
/// scoping is asserted on what `rolesInfo` reports (what MongoDB enforces), the actions on
/// what the server refuses.
#[tokio::test]
async fn custom_role_grants_only_its_collections_and_converges() {
    let services = services();
    let mongo = provisioner(&services).await;
    let (db, foreign) = (
        unique_database_name("analytics"),
        unique_database_name("foreign"),
    );
    let mut role = RoleSpec {
        db: db.clone(),
        role: "machina.aj.t.daily".into(),
        privileges: vec![Privilege::read("events"), Privilege::own("daily")],
    };
    must(mongo.ensure_role(&role).await, "create the role");
    must(mongo.ensure_role(&role).await, "ensure again (idempotent)");
    let user = UserSpec {
        db: db.clone(),
        user: role.role.clone(),
        password: password(),
        roles: vec![Role::custom(&role)],
    };
    must(mongo.ensure_user(&user).await, "create the user");

    let admin = must(services.mongodb().await, "connect as admin");
    let privileges = |admin: mongodb::Client, db: String, name: String| async move {
        let reply = must(
            admin
                .database(&db)
                .run_command(doc! {"rolesInfo": {"role": name, "db": &db}, "showPrivileges": true})
                .await,
            "rolesInfo",
        );
        let roles = reply.get_array("roles").expect("roles").clone();
        let role = roles[0].as_document().expect("role").clone();
        role.get_array("privileges")
            .expect("privileges")
            .iter()
            .map(|p| {
                let p = p.as_document().expect("privilege");
                let resource = p.get_document("resource").expect("resource");
                (
                    resource
                        .get_str("collection")
                        .expect("collection")
                        .to_owned(),
                    p.get_array("actions")
                        .expect("actions")
                        .iter()
                        .filter_map(|a| a.as_str().map(str::to_owned))
                        .collect::<Vec<_>>(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        privileges(admin.clone(), db.clone(), role.role.clone()).await,
        [
            ("events".to_owned(), vec!["find".to_owned()]),
            (
                "daily".to_owned(),
                ["find", "insert", "update", "remove", "createIndex"]
                    .map(str::to_owned)
                    .to_vec()
            ),
        ]
    );

    let client = must(
        services
            .mongodb_as(&user.user, user.password.expose(), &db)
            .await,
        "the user authenticates",
    );
    must(
        client
            .database(&db)
            .collection::<Document>("daily")
            .insert_one(doc! { "bucket": 1 })
            .await,
        "the user writes its output collection",
    );
    let refused = client
        .database(&foreign)
        .collection::<Document>("daily")
        .find_one(doc! {})
        .await
        .expect_err("no access to another database");
    assert!(refused.to_string().contains("not authorized"), "{refused}");

    // A changed output collection moves the grant (updateRole).
    role.privileges = vec![Privilege::read("events"), Privilege::own("weekly")];
    must(mongo.ensure_role(&role).await, "update the role");
    let now = privileges(admin.clone(), db.clone(), role.role.clone()).await;
    assert_eq!(now.len(), 2);
    assert_eq!(now[1].0, "weekly");

    assert!(must(
        mongo.drop_user(&db, &user.user).await,
        "drop the user"
    ));
    assert!(must(
        mongo.drop_role(&db, &role.role).await,
        "drop the role"
    ));
    assert!(!must(mongo.drop_role(&db, &role.role).await, "drop again"));
    assert!(!must(mongo.role_exists(&db, &role.role).await, "rolesInfo"));
    drop_databases(&services, &[&db, &foreign]).await;
}
