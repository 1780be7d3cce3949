//! Integration tests of the analytics service and worker against the real RabbitMQ and
//! MongoDB (SecantusDB) started by `devenv/up.sh`; each test gets a fresh database and
//! vhost.

mod ingest;
mod openapi;
mod reports;
mod support;
mod worker;
