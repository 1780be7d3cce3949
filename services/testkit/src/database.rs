//! A test's MongoDB database, dropped when the guard goes.

use machina_devenv::BackingServices;

/// Drops the named database on drop, also when the test failed or panicked.
#[derive(Debug, Default)]
pub struct TestDatabase {
    name: String,
}

impl TestDatabase {
    /// Guards `name` (an empty name guards nothing).
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into() }
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Keeps the database when the guard goes (another guard of the same name drops it).
    pub fn disarm(&mut self) {
        self.name.clear();
    }
}

impl Drop for TestDatabase {
    /// `Drop` cannot await and the test's runtime may be shutting down, so a short-lived
    /// thread with its own runtime and client drops the database.
    fn drop(&mut self) {
        let database = std::mem::take(&mut self.name);
        if database.is_empty() {
            return;
        }
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let client = BackingServices::load().ok()?.mongodb().await.ok()?;
                client.database(&database).drop().await.ok()
            })
        });
        let _ = dropped.join();
    }
}
