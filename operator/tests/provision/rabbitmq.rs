//! RabbitProvisioner against the real RabbitMQ: topologies apply idempotently, users are
//! confined to their own resources, bindings converge, poison messages dead-letter, and
//! remove leaves nothing behind.

mod world;

use crate::must;
use lapin::ExchangeKind;
use lapin::options::{
    BasicGetOptions, BasicRejectOptions, ExchangeDeclareOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use machina_operator::provision::rabbitmq::{
    QueueDeletion, QueueRemoval, RabbitError, RabbitProvisioner,
};
use std::time::Duration;
use world::{World, enc, get_one, password, publish, str_of, wait_for_message};

#[tokio::test]
async fn applying_a_topology_twice_is_idempotent_and_remove_leaves_nothing() {
    let world = World::new("apply").await;
    let pipeline = world.pipeline("copy");
    let topology = world.topology(&pipeline);
    let pw = password();
    let first = must(world.rabbit.apply(&topology, &pw).await, "first apply");
    assert!(first.removed_bindings.is_empty() && first.kept_retired_queues.is_empty());
    let snapshot = (world.queue_names().await, world.exchange_names().await);
    let second = must(world.rabbit.apply(&topology, &pw).await, "second apply");
    assert_eq!(second, first);
    assert_eq!(
        (world.queue_names().await, world.exchange_names().await),
        snapshot
    );

    let q = topology.user.clone();
    assert_eq!(snapshot.0, vec![q.clone(), format!("{q}.dlq")]);
    assert_eq!(
        snapshot.1,
        vec![
            format!("{q}.dlx"),
            "machina.events".into(),
            "machina.jobs".into()
        ]
    );
    let generate_key = format!("generate.{}.copy", world.namespace);
    let mut expected = vec![
        ("machina.jobs".to_owned(), "generate.product.#".to_owned()),
        ("machina.jobs".into(), generate_key),
    ];
    expected.sort();
    assert_eq!(world.bindings(&q).await, expected);
    let described = world
        .get(&format!("queues/{}/{}", world.vhost_path(), enc(&q)))
        .await
        .expect("queue exists");
    assert_eq!(described["type"], "quorum", "{described}");
    assert_eq!(described["arguments"]["x-delivery-limit"], 5, "{described}");
    let permissions = world
        .get(&format!("permissions/{}/{}", world.vhost_path(), enc(&q)))
        .await
        .expect("permissions exist");
    assert_eq!(str_of(&permissions["read"]), topology.permissions.read);

    let removed = must(
        world.rabbit.remove(&topology, QueueRemoval::Delete).await,
        "remove",
    );
    assert!(removed.is_complete(), "{removed:?}");
    assert!(world.queue_names().await.is_empty());
    assert_eq!(
        world.exchange_names().await,
        vec!["machina.events".to_owned(), "machina.jobs".into()],
        "shared exchanges stay, the pipeline's dead-letter exchange goes"
    );
    assert!(world.get(&format!("users/{}", enc(&q))).await.is_none());
    let permissions = format!("permissions/{}/{}", world.vhost_path(), enc(&q));
    assert!(world.get(&permissions).await.is_none());
    // Idempotent deletions.
    let again = must(
        world.rabbit.remove(&topology, QueueRemoval::Delete).await,
        "remove again",
    );
    assert!(again.is_complete());
    assert!(!must(
        world.rabbit.delete_user(&q).await,
        "delete missing user"
    ));
    assert_eq!(
        must(
            world
                .rabbit
                .delete_queue(&world.vhost.name, &q, QueueRemoval::Delete)
                .await,
            "delete missing queue"
        ),
        QueueDeletion::Missing
    );
    world.cleanup().await;
}

#[tokio::test]
async fn a_pipeline_user_works_on_its_own_resources_and_is_refused_elsewhere() {
    let world = World::new("perms").await;
    let (mine, theirs) = (world.pipeline("mine"), world.pipeline("theirs"));
    let (my_topology, their_topology) = (world.topology(&mine), world.topology(&theirs));
    let (my_pw, their_pw) = (password(), password());
    must(world.rabbit.apply(&my_topology, &my_pw).await, "apply mine");
    must(
        world.rabbit.apply(&their_topology, &their_pw).await,
        "apply theirs",
    );
    let admin = must(world.vhost.connect().await, "admin connection");
    admin
        .create_channel()
        .await
        .expect("channel")
        .exchange_declare(
            "foreign.exchange".into(),
            ExchangeKind::Topic,
            ExchangeDeclareOptions {
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("admin declares a foreign exchange");

    let me = must(
        world.connect_as(&my_topology.user, &my_pw).await,
        "the pipeline user connects",
    );
    let key = format!("generate.{}.mine", world.namespace);
    assert!(
        publish(&me, "machina.jobs", &key, b"job-1")
            .await
            .expect("publish to the jobs exchange")
    );
    assert_eq!(wait_for_message(&me, &my_topology.user).await, b"job-1");

    let their_queue = their_topology.user.clone();
    let refused = get_one(&me, &their_queue)
        .await
        .expect_err("reading another pipeline's queue");
    assert!(refused.to_string().contains("ACCESS_REFUSED"), "{refused}");
    let refused = publish(&me, &format!("{their_queue}.dlx"), &their_queue, b"x")
        .await
        .expect_err("publishing to another pipeline's exchange");
    assert!(refused.to_string().contains("ACCESS_REFUSED"), "{refused}");
    let refused = publish(&me, "foreign.exchange", "any", b"x")
        .await
        .expect_err("publishing to a foreign exchange");
    assert!(refused.to_string().contains("ACCESS_REFUSED"), "{refused}");
    let refused = me
        .create_channel()
        .await
        .expect("channel")
        .queue_declare(
            "foreign.queue".into(),
            QueueDeclareOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect_err("declaring a foreign queue");
    assert!(refused.to_string().contains("ACCESS_REFUSED"), "{refused}");
    let _ = me.close(200, "done".into()).await;

    // After remove, the user can no longer connect.
    must(
        world
            .rabbit
            .remove(&my_topology, QueueRemoval::Delete)
            .await,
        "remove",
    );
    assert!(world.connect_as(&my_topology.user, &my_pw).await.is_err());
    let _ = admin.close(200, "done".into()).await;
    world.cleanup().await;
}

#[tokio::test]
async fn bindings_converge_when_the_spec_changes() {
    let world = World::new("bindings").await;
    let mut pipeline = world.pipeline("conv");
    let pw = password();
    must(
        world.rabbit.apply(&world.topology(&pipeline), &pw).await,
        "apply",
    );
    assert!(world.routed("machina.jobs", "generate.product.shoes").await);

    pipeline.spec.messaging.bindings[0].routing_keys = vec!["generate.catalog.#".into()];
    let topology = world.topology(&pipeline);
    let report = must(
        world.rabbit.apply(&topology, &pw).await,
        "apply the changed spec",
    );
    let removed: Vec<_> = report
        .removed_bindings
        .iter()
        .map(|b| b.routing_key.as_str())
        .collect();
    assert_eq!(removed, vec!["generate.product.#"]);
    assert!(
        !world.routed("machina.jobs", "generate.product.shoes").await,
        "old key still routes"
    );
    assert!(world.routed("machina.jobs", "generate.catalog.shoes").await);
    assert!(
        world
            .routed(
                "machina.jobs",
                &format!("generate.{}.conv", world.namespace)
            )
            .await
    );
    world.cleanup().await;
}

#[tokio::test]
async fn a_poison_message_dead_letters_after_the_delivery_limit() {
    let world = World::new("poison").await;
    let mut pipeline = world.pipeline("poison");
    pipeline.spec.messaging.max_deliveries = 2;
    let topology = world.topology(&pipeline);
    let pw = password();
    must(world.rabbit.apply(&topology, &pw).await, "apply");
    let worker = must(
        world.connect_as(&topology.user, &pw).await,
        "worker connects",
    );
    let key = format!("generate.{}.poison", world.namespace);
    assert!(
        publish(&worker, "machina.jobs", &key, b"poison")
            .await
            .expect("publish")
    );

    let channel = worker.create_channel().await.expect("channel");
    let mut deliveries = 0;
    for _ in 0..50 {
        match channel
            .basic_get(
                topology.user.as_str().into(),
                BasicGetOptions { no_ack: false },
            )
            .await
            .expect("basic.get")
        {
            Some(message) => {
                deliveries += 1;
                message
                    .delivery
                    .acker
                    .reject(BasicRejectOptions { requeue: true })
                    .await
                    .expect("reject");
            }
            None if deliveries > 0 => break,
            None => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    assert!(deliveries >= 2, "delivered {deliveries} times");
    assert!(
        deliveries <= 3,
        "delivered {deliveries} times with a limit of 2"
    );
    assert_eq!(
        wait_for_message(&worker, &format!("{}.dlq", topology.user)).await,
        b"poison"
    );
    let _ = worker.close(200, "done".into()).await;
    world.cleanup().await;
}

#[tokio::test]
async fn a_queue_with_other_arguments_is_reported_and_kept_with_its_messages() {
    let world = World::new("differ").await;
    let mut pipeline = world.pipeline("differ");
    let pw = password();
    let topology = world.topology(&pipeline);
    must(world.rabbit.apply(&topology, &pw).await, "apply");
    let admin = must(world.vhost.connect().await, "admin connection");
    let key = format!("generate.{}.differ", world.namespace);
    assert!(
        publish(&admin, "machina.jobs", &key, b"keep me")
            .await
            .expect("publish")
    );

    pipeline.spec.messaging.max_deliveries = 7;
    let err = world
        .rabbit
        .apply(&world.topology(&pipeline), &pw)
        .await
        .expect_err("delivery limit changed");
    match &err {
        RabbitError::QueueArgumentsDiffer { queue, reason, .. } => {
            assert_eq!(queue, &topology.user);
            assert!(reason.contains("x-delivery-limit"), "{reason}");
        }
        other => panic!("expected QueueArgumentsDiffer, got {other:?}"),
    }
    assert_eq!(wait_for_message(&admin, &topology.user).await, b"keep me");
    let _ = admin.close(200, "done".into()).await;
    world.cleanup().await;
}

#[tokio::test]
async fn remove_keeps_a_queue_that_holds_messages_unless_told_to_delete_it() {
    let world = World::new("keep").await;
    let pipeline = world.pipeline("keep");
    let topology = world.topology(&pipeline);
    let pw = password();
    must(world.rabbit.apply(&topology, &pw).await, "apply");
    let admin = must(world.vhost.connect().await, "admin connection");
    let key = format!("generate.{}.keep", world.namespace);
    assert!(
        publish(&admin, "machina.jobs", &key, b"pending")
            .await
            .expect("publish")
    );
    // The management API reports message counts from periodic statistics.
    for _ in 0..100 {
        let count = must(
            world
                .rabbit
                .queue_messages(&world.vhost.name, &topology.user)
                .await,
            "inspect",
        );
        if count == Some(Some(1)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let report = must(
        world
            .rabbit
            .remove(&topology, QueueRemoval::KeepIfNotEmpty)
            .await,
        "remove",
    );
    let kept: Vec<_> = report.kept_queues.iter().map(|k| k.name.as_str()).collect();
    assert!(kept.contains(&topology.user.as_str()), "{report:?}");
    assert!(
        world.bindings(&topology.user).await.is_empty(),
        "a kept queue is unbound"
    );
    assert!(
        world
            .get(&format!("users/{}", enc(&topology.user)))
            .await
            .is_none()
    );

    let report = must(
        world.rabbit.remove(&topology, QueueRemoval::Delete).await,
        "remove all",
    );
    assert!(report.is_complete());
    assert!(world.queue_names().await.is_empty());
    let _ = admin.close(200, "done".into()).await;
    world.cleanup().await;
}

#[tokio::test]
async fn errors_never_contain_passwords() {
    let pw = password();
    let rabbit = RabbitProvisioner::new("http://127.0.0.1:1", "admin", pw.clone()).expect("client");
    let err = rabbit
        .ensure_user("someone", &pw)
        .await
        .expect_err("nothing listens on port 1");
    assert!(matches!(err, RabbitError::EnsureUser { .. }), "{err:?}");
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains(pw.expose()), "{text}");
    }
    assert!(RabbitProvisioner::new("http://admin:pw@rabbit:15672", "a", pw).is_err());
}

#[tokio::test]
async fn an_analytics_job_receives_its_event_types_and_cannot_publish() {
    let world = World::new("analytics").await;
    let topology = world.analytics_topology();
    let pw = password();
    must(world.rabbit.apply(&topology, &pw).await, "apply");
    assert!(world.routed("machina.events", "page.view").await);
    assert!(
        world
            .routed("machina.events", "content.generated.product")
            .await
    );
    assert!(!world.routed("machina.events", "user.signup").await);
    let job = must(
        world.connect_as(&topology.user, &pw).await,
        "the job user connects",
    );
    assert_eq!(wait_for_message(&job, &topology.user).await, b"probe");
    let refused = publish(&job, "machina.events", "page.view", b"forged")
        .await
        .expect_err("an analytics job only consumes");
    assert!(refused.to_string().contains("ACCESS_REFUSED"), "{refused}");
    let _ = job.close(200, "done".into()).await;
    let report = must(
        world.rabbit.remove(&topology, QueueRemoval::Delete).await,
        "remove",
    );
    assert!(report.is_complete());
    assert!(world.queue_names().await.is_empty());
    world.cleanup().await;
}

#[tokio::test]
async fn turning_async_jobs_off_unbinds_and_deletes_the_empty_queues() {
    let world = World::new("retire").await;
    let mut pipeline = world.pipeline("retire");
    let pw = password();
    let topology = world.topology(&pipeline);
    must(world.rabbit.apply(&topology, &pw).await, "apply");
    // Wait until the broker's statistics report the (empty) queues.
    for queue in topology.queue_names() {
        for _ in 0..100 {
            let count = must(
                world.rabbit.queue_messages(&world.vhost.name, queue).await,
                "inspect",
            );
            if count == Some(Some(0)) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    pipeline.spec.messaging.async_jobs = false;
    pipeline.spec.messaging.bindings.clear();
    let report = must(
        world.rabbit.apply(&world.topology(&pipeline), &pw).await,
        "apply",
    );
    assert!(report.kept_retired_queues.is_empty(), "{report:?}");
    assert!(world.queue_names().await.is_empty());
    assert_eq!(
        world.exchange_names().await,
        vec!["machina.events".to_owned(), "machina.jobs".into()]
    );
    world.cleanup().await;
}
