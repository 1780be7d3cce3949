//! Asynchronous jobs over RabbitMQ: completion, a worker killed mid-job, poison jobs.

use crate::support::{COPY, Env, Options, PAGE, two_llm_definition};
use lapin::BasicProperties;
use lapin::options::BasicPublishOptions;
use lapin::types::{AMQPValue, FieldTable};
use machina_generative::adapters::mongo::JOBS;
use machina_generative::service::model::JobStatus;
use machina_generative::testing::MockReply;
use mongodb::bson::doc;
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test]
async fn a_job_is_accepted_then_completed_with_its_result() {
    let env = Env::new(Options::default()).await;
    let mut app = env.worker().await;
    app.start_worker();

    let (status, body, headers) = app
        .post("/v1/jobs", &json!({"context": {"sku": "ABC-123"}}))
        .await;
    assert_eq!(status, 202, "{body}");
    let id = body["jobId"].as_str().expect("job id").to_owned();
    assert_eq!(
        headers.get("location").and_then(|v| v.to_str().ok()),
        Some(format!("/v1/jobs/{id}").as_str())
    );
    let job = app
        .wait_for_job(&id, "succeeded", Duration::from_secs(20))
        .await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["attempts"], 1);
    assert_eq!(job["result"]["output"], PAGE);
    assert_eq!(job["result"]["runId"], id.as_str());
    assert_eq!(env.documents("results").await.len(), 1);
    assert!(
        env.documents("checkpoints").await.is_empty(),
        "checkpoints are cleared once the result is stored"
    );

    let (status, problem) = app.get("/v1/jobs/no-such-job").await;
    assert_eq!(status, 404, "{problem}");

    // An invalid context is refused before anything is stored or queued.
    let (status, problem, _) = app.post("/v1/jobs", &json!({"context": {"sku": 42}})).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["violations"][0]["path"], "/sku", "{problem}");
    assert_eq!(env.documents("jobs").await.len(), 1);
    app.stop().await;
    env.cleanup().await;
}

#[tokio::test]
async fn a_job_survives_its_worker_being_killed_mid_job() {
    let env = Env::new(Options {
        definition: two_llm_definition,
        ..Options::default()
    })
    .await;
    // Worker A: `copy` answers at once, `review` hangs long enough to be killed.
    env.mock.push(MockReply::Content(COPY.to_owned()));
    env.mock.push(MockReply::Delayed(
        Duration::from_secs(15),
        Box::new(MockReply::Content("too late".to_owned())),
    ));
    env.mock
        .set_default(MockReply::Content("Reviewed.".to_owned()));
    let mut a = env.worker().await;
    a.start_worker();
    let id = a.submit_job(json!({"sku": "ABC-123"})).await;

    // Kill A once `copy` is checkpointed and `review` is being asked.
    let checkpoints = env.db.collection::<mongodb::bson::Document>("checkpoints");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let saved = checkpoints
            .count_documents(doc! {"run": &id, "component": "copy"})
            .await
            .expect("count");
        if saved == 1 && env.mock.request_count() == 2 {
            break;
        }
        if Instant::now() > deadline {
            let (_, job) = a.get(&format!("/v1/jobs/{id}")).await;
            panic!(
                "A never reached the review: {saved} checkpoint(s), {} LLM call(s), job {job}",
                env.mock.request_count()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    a.kill().await;
    let (_, job) = a.get(&format!("/v1/jobs/{id}")).await;
    assert_eq!(job["status"], "running", "{job}");

    // Worker B gets the redelivery and resumes after `copy`.
    let mut b = env.worker().await;
    b.start_worker();
    let job = b
        .wait_for_job(&id, "succeeded", Duration::from_secs(20))
        .await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["attempts"], 2, "{job}");
    assert_eq!(job["result"]["output"], "Reviewed.");
    let trace = job["result"]["trace"].as_array().expect("trace");
    let status_of = |name: &str| {
        trace
            .iter()
            .find(|e| e["name"] == name)
            .map(|e| e["status"].clone())
    };
    assert_eq!(status_of("copy"), Some(json!("resumed")));
    assert_eq!(status_of("review"), Some(json!("ran")));
    // copy once (checkpointed), review twice (interrupted once): three calls, no more.
    assert_eq!(env.mock.request_count(), 3);
    let results = env.documents("results").await;
    assert_eq!(results.len(), 1, "exactly one result document");
    assert_eq!(env.documents("generated_pages").await.len(), 1);

    // Nothing left to redeliver: the job stays completed once.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(env.mock.request_count(), 3);
    b.stop().await;
    drop(a);
    env.cleanup().await;
}

#[tokio::test]
async fn a_poison_job_is_dead_lettered_after_the_delivery_limit_and_marked_failed() {
    let env = Env::new(Options {
        max_deliveries: 3,
        ..Options::default()
    })
    .await;
    let mut app = env.worker().await;
    app.start_worker();
    // No product ZZZ-999: the required lookup fails on every attempt.
    let id = app.submit_job(json!({"sku": "ZZZ-999"})).await;
    let job = app
        .wait_for_job(&id, "failed", Duration::from_secs(20))
        .await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["attempts"], 3, "{job}");
    assert_eq!(job["error"], "component product failed");
    assert!(job.get("result").is_none());

    let queue = app.service.queue().dead_letter_queue();
    let dead = env.take_messages(&queue, 1).await;
    assert_eq!(dead.len(), 1, "the job is in {queue}");
    assert_eq!(dead[0].1["jobId"], id.as_str());
    assert_eq!(env.mock.request_count(), 0);
    assert!(env.documents("results").await.is_empty());
    app.stop().await;
    env.cleanup().await;
}

#[tokio::test]
async fn a_job_past_its_delivery_limit_is_failed_without_running() {
    // A job whose workers kept crashing arrives with x-delivery-count at the limit.
    let env = Env::new(Options {
        max_deliveries: 3,
        ..Options::default()
    })
    .await;
    let mut app = env.worker().await;
    let store = app.service.store().expect("mongo").clone();
    let id = "crash-looping-job";
    let job = json!({"status": "running", "attempts": 3, "context": r#"{"sku": "ABC-123"}"#});
    store.insert(JOBS, id, &job).await.expect("job stored");
    let connection = env.vhost.connect().await.expect("amqp");
    let channel = connection.create_channel().await.expect("channel");
    app.service
        .queue()
        .declare(&channel)
        .await
        .expect("queue declared");
    let mut headers = FieldTable::default();
    headers.insert("x-delivery-count".into(), AMQPValue::LongLongInt(3));
    channel
        .basic_publish(
            "".into(),
            app.service.queue().name.as_str().into(),
            BasicPublishOptions::default(),
            json!({"jobId": id}).to_string().as_bytes(),
            BasicProperties::default()
                .with_delivery_mode(2)
                .with_headers(headers),
        )
        .await
        .expect("publish")
        .await
        .expect("confirm");
    app.start_worker();
    let job = app
        .wait_for_job(id, "failed", Duration::from_secs(20))
        .await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["error"], "the job exceeded its delivery limit");
    let dead = env
        .take_messages(&app.service.queue().dead_letter_queue(), 1)
        .await;
    assert_eq!(dead.len(), 1);
    assert_eq!(env.mock.request_count(), 0);
    let _ = connection.close(200, "done".into()).await;
    app.stop().await;
    env.cleanup().await;
}

#[tokio::test]
async fn a_graceful_stop_finishes_the_jobs_in_flight() {
    let env = Env::new(Options::default()).await;
    env.mock.push(MockReply::Delayed(
        Duration::from_millis(800),
        Box::new(MockReply::Content(COPY.to_owned())),
    ));
    let mut app = env.worker().await;
    app.start_worker();
    let id = app.submit_job(json!({"sku": "ABC-123"})).await;
    app.wait_for_job(&id, "running", Duration::from_secs(20))
        .await;
    let service = app.service.clone();
    app.stop().await;
    let job = service.job(&id).await.expect("job").expect("exists");
    assert_eq!(job.status, JobStatus::Succeeded, "{job:?}");
    assert_eq!(job.attempts, 1);
    env.cleanup().await;
}
