//! The end-to-end suite: one test binary (the binaries are large), its tests run one at a
//! time (each starts a devcluster, an operator and a dozen service processes).

mod lifecycle;
mod samples;

/// Held for the whole of a test so clusters never overlap.
async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    LOCK.lock().await
}
