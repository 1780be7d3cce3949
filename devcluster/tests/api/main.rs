//! Integration tests: the server driven by kube-rs and by the real kubectl.

mod controller;
mod crds;
mod crud;
mod events;
mod gc;
mod http;
mod kubectl;
mod logs;
mod persist;
mod support;
mod watch;
