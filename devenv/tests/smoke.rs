//! Smoke tests against the real backing services started by `devenv/up.sh`.
//!
//! They never skip: when a server is down or a setting is missing, they
//! panic with a message that names the service and `devenv/up.sh`.

use std::time::Duration;

use futures::StreamExt;
use lapin::BasicProperties;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicGetOptions, BasicPublishOptions,
    ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use machina_devenv::{
    BackingServices, Error, UP_COMMAND, unique_database_name, unique_name, unique_redis_prefix,
};
use mongodb::bson::{Document, doc};

/// Unwraps a devenv result, panicking with its Display (which names the
/// service and `devenv/up.sh`) rather than its Debug.
#[track_caller]
fn must<T>(result: Result<T, Error>) -> T {
    match result {
        Ok(value) => value,
        Err(e) => panic!("{e}"),
    }
}

fn services() -> BackingServices {
    BackingServices::load_or_panic()
}

/// MongoDB error code 13: Unauthorized.
fn is_unauthorized(error: &mongodb::error::Error) -> bool {
    match &*error.kind {
        mongodb::error::ErrorKind::Command(command) => command.code == 13,
        mongodb::error::ErrorKind::Write(mongodb::error::WriteFailure::WriteError(write)) => {
            write.code == 13
        }
        _ => false,
    }
}

#[tokio::test]
async fn settings_load_and_hide_secrets() {
    let services = services();
    let debug = format!("{services:?}");
    assert!(
        !debug.contains(services.rabbitmq_password.expose()),
        "password leaked in Debug: {debug}"
    );
    assert!(
        !debug.contains(services.redis_url.expose()),
        "Redis URL leaked in Debug: {debug}"
    );
    assert!(
        !services.mongodb_address().contains('@'),
        "{}",
        services.mongodb_address()
    );
}

#[tokio::test]
async fn mongodb_least_privilege_user_is_confined_to_its_database() {
    let services = services();
    let admin = must(services.mongodb().await);

    let db_name = unique_database_name("smoke");
    let other_name = unique_database_name("smoke_other");
    let user = unique_name("user");
    let password = unique_name("pw");

    admin
        .database(&other_name)
        .collection::<Document>("secrets")
        .insert_one(doc! { "_id": 1, "value": "admin only" })
        .await
        .expect("admin insert into the other database");
    admin
        .database(&db_name)
        .run_command(doc! {
            "createUser": &user,
            "pwd": &password,
            "roles": [ { "role": "readWrite", "db": &db_name } ],
        })
        .await
        .expect("createUser");
    let info = admin
        .database(&db_name)
        .run_command(doc! { "usersInfo": &user })
        .await
        .expect("usersInfo");
    assert_eq!(
        info.get_array("users").expect("users array").len(),
        1,
        "{info}"
    );

    let client = must(services.mongodb_as(&user, &password, &db_name).await);
    let items = client.database(&db_name).collection::<Document>("items");
    items
        .insert_one(doc! { "_id": "a", "n": 42 })
        .await
        .expect("insert as the least-privilege user");
    let found = items
        .find_one(doc! { "_id": "a" })
        .await
        .expect("find as the least-privilege user")
        .expect("the inserted document is found");
    assert_eq!(found.get_i32("n").expect("n is an i32"), 42);
    assert_eq!(items.count_documents(doc! {}).await.expect("count"), 1);

    let other = client
        .database(&other_name)
        .collection::<Document>("secrets");
    let read = other.find_one(doc! {}).await;
    let read_error = read.expect_err("reading another database must be refused");
    assert!(
        is_unauthorized(&read_error),
        "expected Unauthorized (13), got {read_error}"
    );
    let write_error = other
        .insert_one(doc! { "_id": 2 })
        .await
        .expect_err("writing another database must be refused");
    assert!(
        is_unauthorized(&write_error),
        "expected Unauthorized (13), got {write_error}"
    );

    let wrong = services.mongodb_as(&user, "wrong-password", &db_name).await;
    let wrong_error = wrong.expect_err("a wrong password must be rejected");
    assert!(wrong_error.to_string().contains("MongoDB"), "{wrong_error}");

    admin
        .database(&db_name)
        .run_command(doc! { "dropUser": &user })
        .await
        .expect("dropUser");
    admin
        .database(&db_name)
        .drop()
        .await
        .expect("drop test database");
    admin
        .database(&other_name)
        .drop()
        .await
        .expect("drop other database");
}

#[tokio::test]
async fn redis_set_get_with_expiry_and_password_required() {
    let services = services();
    let mut conn = must(services.redis().await);
    let key = format!("{}greeting", unique_redis_prefix("smoke"));

    let () = redis::cmd("SET")
        .arg(&key)
        .arg("hello")
        .arg("PX")
        .arg(700)
        .query_async(&mut conn)
        .await
        .expect("SET with expiry");
    let value: Option<String> = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .expect("GET");
    assert_eq!(value.as_deref(), Some("hello"));
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .expect("PTTL");
    assert!((1..=700).contains(&ttl), "PTTL {ttl}");

    tokio::time::sleep(Duration::from_millis(900)).await;
    let expired: Option<String> = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .expect("GET");
    assert_eq!(expired, None, "the key must have expired");

    // requirepass is on: without the password, commands are refused.
    let anonymous = redis::Client::open(services.redis_address()).expect("redis URL");
    let refused = match anonymous.get_multiplexed_async_connection().await {
        Ok(mut anon) => redis::cmd("GET")
            .arg(&key)
            .query_async::<Option<String>>(&mut anon)
            .await
            .expect_err("GET without password must fail"),
        Err(e) => e,
    };
    assert!(refused.to_string().contains("NOAUTH"), "{refused}");
}

#[tokio::test]
async fn rabbitmq_durable_queue_with_confirms_in_a_fresh_vhost() {
    let services = services();
    let vhost = must(services.isolated_vhost("smoke").await);
    let conn = must(vhost.connect().await);
    let channel = conn.create_channel().await.expect("create channel");
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .expect("confirm.select");

    let queue = channel
        .queue_declare(
            "smoke.orders".into(),
            QueueDeclareOptions {
                durable: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("declare durable queue");
    assert_eq!(queue.name().as_str(), "smoke.orders");
    assert_eq!(queue.message_count(), 0);

    let confirmation = channel
        .basic_publish(
            "".into(),
            "smoke.orders".into(),
            BasicPublishOptions::default(),
            b"order #1",
            BasicProperties::default().with_delivery_mode(2),
        )
        .await
        .expect("publish")
        .await
        .expect("publisher confirm");
    assert!(
        confirmation.is_ack(),
        "broker did not ack: {confirmation:?}"
    );

    let mut consumer = channel
        .basic_consume(
            "smoke.orders".into(),
            "smoke-consumer".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("basic.consume");
    let delivery = tokio::time::timeout(Duration::from_secs(10), consumer.next())
        .await
        .expect("no delivery within 10 s")
        .expect("consumer stream ended")
        .expect("delivery error");
    assert_eq!(delivery.data, b"order #1");
    assert_eq!(delivery.properties.delivery_mode(), &Some(2));
    assert!(!delivery.redelivered);
    delivery
        .acker
        .ack(BasicAckOptions::default())
        .await
        .expect("ack");
    channel
        .close(200, "done".into())
        .await
        .expect("close channel");

    // Acked means gone: a new channel finds the queue empty.
    let check = conn.create_channel().await.expect("second channel");
    let left = check
        .basic_get("smoke.orders".into(), BasicGetOptions::default())
        .await
        .expect("basic.get");
    assert!(left.is_none(), "message still in the queue after ack");

    let management = must(services.management());
    let described = must(
        management
            .get(&format!("queues/{}/smoke.orders", vhost.name))
            .await,
    )
    .expect("queue visible in the management API");
    assert_eq!(described["durable"], serde_json::json!(true), "{described}");
    assert_eq!(
        described["vhost"],
        serde_json::json!(vhost.name),
        "{described}"
    );

    conn.close(200, "done".into())
        .await
        .expect("close connection");
    must(vhost.delete().await);
    assert!(
        must(management.get(&format!("vhosts/{}", vhost.name)).await).is_none(),
        "vhost still exists after delete"
    );
}

#[tokio::test]
async fn rabbitmq_management_api_users_and_permissions() {
    let services = services();
    let management = must(services.management());

    assert!(
        must(management.get("users/guest").await).is_none(),
        "the default 'guest' user must not exist ({UP_COMMAND} removes it)"
    );
    let whoami = must(management.get("whoami").await).expect("whoami");
    assert_eq!(
        whoami["name"],
        serde_json::json!(services.rabbitmq_username)
    );

    // Create vhost, user and permissions with plain reqwest calls.
    let http = reqwest::Client::new();
    let base = management.base_url().to_owned();
    let admin = (
        &services.rabbitmq_username,
        Some(services.rabbitmq_password.expose()),
    );
    let vhost = unique_name("smoke_mgmt");
    let user = unique_name("smoke_user");
    let password = unique_name("pw");

    let put = |path: String, body: serde_json::Value| {
        http.put(format!("{base}/api/{path}"))
            .basic_auth(admin.0, admin.1)
            .json(&body)
            .send()
    };
    for (path, body) in [
        (
            format!("vhosts/{vhost}"),
            serde_json::json!({ "description": "smoke" }),
        ),
        (
            format!("users/{user}"),
            serde_json::json!({ "password": password, "tags": "" }),
        ),
        (
            format!("permissions/{vhost}/{user}"),
            serde_json::json!({ "configure": "^smoke\\.", "write": ".*", "read": ".*" }),
        ),
    ] {
        let response = put(path.clone(), body)
            .await
            .expect("management API reachable");
        assert!(
            response.status().is_success(),
            "PUT {path}: {}",
            response.status()
        );
    }

    let created = must(management.get(&format!("vhosts/{vhost}")).await).expect("vhost exists");
    assert_eq!(created["name"], serde_json::json!(vhost));
    let user_info = must(management.get(&format!("users/{user}")).await).expect("user exists");
    assert_eq!(user_info["tags"], serde_json::json!([]), "{user_info}");
    let permissions = must(management.get(&format!("permissions/{vhost}/{user}")).await)
        .expect("permissions exist");
    assert_eq!(
        permissions["configure"],
        serde_json::json!("^smoke\\."),
        "{permissions}"
    );

    // The permissions are enforced over AMQP.
    let host = services.amqp_address().replacen("amqp://", "", 1);
    let user_url = format!("amqp://{user}:{password}@{host}/{vhost}");
    let conn = lapin::Connection::connect(&user_url, lapin::ConnectionProperties::default())
        .await
        .expect("the new user can open its vhost");
    let channel = conn.create_channel().await.expect("channel");
    channel
        .queue_declare(
            "smoke.allowed".into(),
            QueueDeclareOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("configure permission ^smoke\\. allows smoke.allowed");
    let refused = conn
        .create_channel()
        .await
        .expect("channel")
        .queue_declare(
            "other.denied".into(),
            QueueDeclareOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect_err("configure permission ^smoke\\. must refuse other.denied");
    assert!(refused.to_string().contains("ACCESS_REFUSED"), "{refused}");
    let _ = conn.close(200, "done".into()).await;

    let default_vhost_url = format!("amqp://{user}:{password}@{host}/%2f");
    let no_access =
        lapin::Connection::connect(&default_vhost_url, lapin::ConnectionProperties::default())
            .await;
    assert!(
        no_access.is_err(),
        "the user has no permissions on vhost '/'"
    );

    must(management.delete_user(&user).await);
    must(management.delete_vhost(&vhost).await);
    assert!(must(management.get(&format!("users/{user}")).await).is_none());
    assert!(must(management.get(&format!("vhosts/{vhost}")).await).is_none());
}
