//! JSON logs carry the request id; a 5xx is logged once, with its cause.

use std::{
    io,
    sync::{Arc, Mutex, PoisonError},
};

use machina_kit::{LogFormat, telemetry};
use serde_json::Value;

use crate::helpers::spawn_app;

/// Collects everything the subscriber writes.
#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Capture {
    pub fn lines(&self) -> Vec<Value> {
        let bytes = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(|line| serde_json::from_str(line).expect("every log line is JSON"))
            .collect()
    }
}

/// Installs a JSON subscriber for this (current-thread) test and returns its capture.
fn capture_logs() -> (Capture, tracing::subscriber::DefaultGuard) {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber =
        telemetry::subscriber("info", LogFormat::Json, move || writer.clone()).expect("subscriber");
    (capture, tracing::subscriber::set_default(subscriber))
}

#[tokio::test]
async fn json_request_log_carries_request_id_route_and_status() {
    let (capture, _guard) = capture_logs();
    let app = spawn_app().await;
    app.client
        .get(app.url("/items/7"))
        .header("x-request-id", "log-me-1")
        .send()
        .await
        .unwrap();

    let lines = capture.lines();
    let finished = lines
        .iter()
        .find(|l| l["message"] == "request finished")
        .unwrap_or_else(|| panic!("no request log in {lines:?}"));
    assert_eq!(finished["level"], "INFO");
    assert_eq!(finished["status"], 404);
    let span = &finished["spans"][0];
    assert_eq!(span["name"], "request");
    assert_eq!(span["request_id"], "log-me-1");
    assert_eq!(span["route"], "/items/{id}");
    assert_eq!(span["method"], "GET");
}

#[tokio::test]
async fn internal_error_is_logged_once_with_its_cause() {
    let (capture, _guard) = capture_logs();
    let app = spawn_app().await;
    app.client
        .get(app.url("/boom"))
        .header("x-request-id", "boom-1")
        .send()
        .await
        .unwrap();

    let lines = capture.lines();
    let errors: Vec<&Value> = lines.iter().filter(|l| l["level"] == "ERROR").collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("hunter2"),
        "{:?}",
        errors[0]
    );
    assert_eq!(errors[0]["spans"][0]["request_id"], "boom-1");
}
