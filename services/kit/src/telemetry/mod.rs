//! Logging and tracing: one `tracing` subscriber for the whole process.
//!
//! JSON output lists every enclosing span with its fields (`spans`), so the
//! request span's `request_id`, `trace_id`, `method` and `route` are on every
//! line written while a request is handled; event fields are top-level.
//!
//! With the `otel` feature (on by default) spans also become OpenTelemetry
//! spans: an incoming W3C `traceparent` is continued, the trace id is logged,
//! and when `OTEL_EXPORTER_OTLP_ENDPOINT` is set spans are exported over
//! OTLP/HTTP.

#[cfg(feature = "otel")]
pub mod otel;

use tracing::Subscriber;
use tracing_subscriber::{
    EnvFilter, fmt, fmt::MakeWriter, layer::SubscriberExt, registry::LookupSpan,
    util::SubscriberInitExt,
};

use crate::{CommonConfig, Error, LogFormat, Result};

/// A boxed subscriber, as built by [`subscriber`].
pub type BoxSubscriber = Box<dyn Subscriber + Send + Sync + 'static>;

/// Keeps the trace exporter alive; call [`TelemetryGuard::shutdown`] (or drop
/// it) at the end of `main` so buffered spans are sent.
#[derive(Debug)]
#[must_use = "dropping the guard stops trace export"]
pub struct TelemetryGuard {
    #[cfg(feature = "otel")]
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl TelemetryGuard {
    /// Flushes and stops the trace exporter, if any.
    pub fn shutdown(mut self) {
        self.flush_and_stop();
    }

    fn flush_and_stop(&mut self) {
        #[cfg(feature = "otel")]
        if let Some(provider) = self.provider.take()
            && let Err(err) = provider.shutdown()
        {
            eprintln!("failed to flush traces: {err}");
        }
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        self.flush_and_stop();
    }
}

/// Installs the global subscriber from `config` (`LOG_LEVEL`, `LOG_FORMAT`,
/// `OTEL_EXPORTER_OTLP_ENDPOINT`), writing logs to stdout.
///
/// Fails if a global subscriber is already set (call it once, first thing in
/// `main`) or the exporter cannot be built.
pub fn init(config: &CommonConfig) -> Result<TelemetryGuard> {
    #[cfg(feature = "otel")]
    {
        let provider = otel::provider(config.otlp_endpoint.as_deref(), &config.service_name)?;
        otel::install_propagator();
        subscriber_with_traces(
            &config.log_level,
            config.log_format,
            std::io::stdout,
            &provider,
        )?
        .try_init()
        .map_err(|e| Error::Telemetry(e.to_string()))?;
        Ok(TelemetryGuard {
            provider: Some(provider),
        })
    }
    #[cfg(not(feature = "otel"))]
    {
        subscriber(&config.log_level, config.log_format, std::io::stdout)?
            .try_init()
            .map_err(|e| Error::Telemetry(e.to_string()))?;
        Ok(TelemetryGuard {})
    }
}

/// Builds the logging subscriber without installing it; tests pass their own
/// `writer` and use `tracing::subscriber::set_default`.
pub fn subscriber<W>(filter: &str, format: LogFormat, writer: W) -> Result<BoxSubscriber>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    Ok(with_fmt(
        tracing_subscriber::registry().with(env_filter(filter)?),
        format,
        writer,
    ))
}

/// Like [`subscriber`], plus an OpenTelemetry layer feeding `provider`.
#[cfg(feature = "otel")]
pub fn subscriber_with_traces<W>(
    filter: &str,
    format: LogFormat,
    writer: W,
    provider: &opentelemetry_sdk::trace::SdkTracerProvider,
) -> Result<BoxSubscriber>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    use opentelemetry::trace::TracerProvider as _;
    let traces = tracing_opentelemetry::layer().with_tracer(provider.tracer("machina-kit"));
    let base = tracing_subscriber::registry()
        .with(env_filter(filter)?)
        .with(traces);
    Ok(with_fmt(base, format, writer))
}

fn env_filter(filter: &str) -> Result<EnvFilter> {
    EnvFilter::try_new(filter).map_err(|e| Error::Telemetry(e.to_string()))
}

/// Adds the JSON or pretty formatting layer on top of `base`.
fn with_fmt<S, W>(base: S, format: LogFormat, writer: W) -> BoxSubscriber
where
    S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync + 'static,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    match format {
        LogFormat::Json => Box::new(
            base.with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_span_list(true)
                    .with_writer(writer),
            ),
        ),
        LogFormat::Pretty => Box::new(base.with(fmt::layer().pretty().with_writer(writer))),
    }
}
