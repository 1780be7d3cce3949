//! Watch: replays events after a resourceVersion from the bounded history, then
//! streams live ones; bookmarks, `sendInitialEvents`, 410 Gone for compacted versions,
//! and selector transitions (an object leaving a selector is sent as DELETED).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use serde_json::{Value, json};
use tokio::sync::broadcast;
use tokio::time::Instant;

use crate::ops::Presented;
use crate::registry::Resource;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::store::{Event, EventType, State};

/// What a watch asks for.
#[derive(Debug, Clone)]
pub struct WatchRequest {
    /// The resource watched.
    pub res: Resource,
    /// Namespace, `None` for all (or cluster-scoped).
    pub namespace: Option<String>,
    /// `labelSelector`.
    pub labels: LabelSelector,
    /// `fieldSelector`.
    pub fields: FieldSelector,
    /// `resourceVersion` ("" or "0": current state first).
    pub resource_version: String,
    /// `allowWatchBookmarks`.
    pub bookmarks: bool,
    /// `sendInitialEvents`.
    pub send_initial: bool,
    /// `timeoutSeconds`.
    pub timeout: Duration,
    /// How often bookmarks are sent.
    pub bookmark_interval: Duration,
}

struct Watcher {
    req: WatchRequest,
    pending: VecDeque<Bytes>,
    rx: broadcast::Receiver<Arc<Event>>,
    last_rv: u64,
    deadline: Instant,
    next_bookmark: Instant,
    done: bool,
}

fn line(v: &Value) -> Bytes {
    let mut s = v.to_string();
    s.push('\n');
    Bytes::from(s)
}

impl Watcher {
    fn wants(&self, ev: &Event) -> bool {
        let (group, plural) = crate::events::storage(&self.req.res);
        ev.key.group == group
            && ev.key.plural == plural
            && self
                .req
                .namespace
                .as_deref()
                .is_none_or(|ns| ev.key.namespace == ns)
    }

    fn matches(&self, obj: &Value) -> bool {
        self.req.labels.matches(obj) && self.req.fields.matches(obj)
    }

    fn event_line(&self, kind: &str, obj: &Value) -> Bytes {
        #[derive(serde::Serialize)]
        struct Line<'a> {
            #[serde(rename = "type")]
            kind: &'a str,
            object: Presented<'a>,
        }
        let line = Line {
            kind,
            object: Presented::new(&self.req.res, obj),
        };
        let mut out = serde_json::to_vec(&line).unwrap_or_default();
        out.push(b'\n');
        Bytes::from(out)
    }

    /// The wire event for `ev`, after selector transitions.
    fn render(&self, ev: &Event) -> Option<Bytes> {
        if !self.wants(ev) {
            return None;
        }
        let now = self.matches(&ev.object);
        let before = ev.previous.as_ref().map(|p| self.matches(p));
        let kind = match (ev.kind, now, before) {
            (EventType::Modified, true, Some(false)) => "ADDED",
            (EventType::Modified, false, Some(true)) => "DELETED",
            (_, false, _) => return None,
            (k, true, _) => k.as_str(),
        };
        Some(self.event_line(kind, &ev.object))
    }

    fn bookmark(&self, initial_end: bool) -> Bytes {
        let mut md = json!({"resourceVersion": self.last_rv.to_string()});
        if initial_end {
            md["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        line(
            &json!({"type": "BOOKMARK", "object": {"kind": self.req.res.kind, "apiVersion": self.req.res.api_version(), "metadata": md}}),
        )
    }
}

/// The 410 event for a compacted resourceVersion (what kube-runtime's watcher expects).
fn gone(rv: u64, oldest: u64) -> Bytes {
    line(&json!({"type": "ERROR", "object": {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": format!("too old resource version: {rv} ({oldest})"),
        "reason": "Expired", "code": 410,
    }}))
}

/// Starts a watch under the state lock (so no event falls between replay and live)
/// and returns its body; `Err` is a 400 for an unparsable resourceVersion.
pub fn start(st: &State, req: WatchRequest) -> Result<Body, crate::errors::ApiError> {
    let rx = st.subscribe();
    let now = Instant::now();
    let mut w = Watcher {
        pending: VecDeque::new(),
        rx,
        last_rv: st.rv,
        deadline: now + req.timeout,
        next_bookmark: now + req.bookmark_interval,
        done: false,
        req,
    };
    let from_state = matches!(w.req.resource_version.as_str(), "" | "0") || w.req.send_initial;
    if from_state {
        let items: Vec<Bytes> = st
            .list(
                crate::events::storage(&w.req.res).0,
                crate::events::storage(&w.req.res).1,
                w.req.namespace.as_deref(),
            )
            .filter(|(_, o)| w.matches(o))
            .map(|(_, o)| w.event_line("ADDED", o))
            .collect();
        w.pending.extend(items);
        if w.req.send_initial && w.req.bookmarks {
            let b = w.bookmark(true);
            w.pending.push_back(b);
        }
    } else {
        let rv: u64 = w.req.resource_version.parse().map_err(|_| {
            crate::errors::ApiError::bad_request(format!(
                "invalid resource version: {}",
                w.req.resource_version
            ))
        })?;
        if rv < st.compacted {
            w.pending.push_back(gone(rv, st.compacted + 1));
            w.done = true;
        } else {
            let replay: Vec<Bytes> = st
                .history
                .iter()
                .filter(|e| e.rv > rv)
                .filter_map(|e| w.render(e))
                .collect();
            w.pending.extend(replay);
        }
    }
    let stream = futures::stream::unfold(w, next_chunk);
    Ok(Body::from_stream(stream))
}

async fn next_chunk(mut w: Watcher) -> Option<(Result<Bytes, Infallible>, Watcher)> {
    loop {
        if let Some(b) = w.pending.pop_front() {
            return Some((Ok(b), w));
        }
        if w.done {
            return None;
        }
        let tick = if w.req.bookmarks {
            w.next_bookmark.min(w.deadline)
        } else {
            w.deadline
        };
        tokio::select! {
            ev = w.rx.recv() => match ev {
                Ok(ev) => {
                    if ev.rv > w.last_rv {
                        w.last_rv = ev.rv;
                        if let Some(b) = w.render(&ev) {
                            w.pending.push_back(b);
                        }
                    }
                }
                // Too slow or server stopping: end the watch; the client re-watches
                // from its last resourceVersion.
                Err(_) => w.done = true,
            },
            _ = tokio::time::sleep_until(tick) => {
                if Instant::now() >= w.deadline {
                    w.done = true;
                } else {
                    let b = w.bookmark(false);
                    w.pending.push_back(b);
                    w.next_bookmark = Instant::now() + w.req.bookmark_interval;
                }
            }
        }
    }
}
