//! [`TemplateCatalog`]: the [`Renderer`] over the template engine, fed by bundles from the
//! template service.
//!
//! `GET {TEMPLATES_URL}/v1/templates/{name}/bundle[?version=N]` returns a template version
//! with every template it includes or extends (at their active versions). Each bundle is
//! compiled once into an [`Engine`] cached by the versions of the root and of every
//! dependency, so activating a new version of an extended layout is picked up too; renders
//! use the compiled engine and never touch the network. A binding without a pinned version
//! follows the template's active version: [`TemplateCatalog::refresh`] re-resolves it (the
//! service calls it every `TEMPLATE_REFRESH`); a failed refresh keeps the engine in force.

use crate::render::{RenderError, Rendered, Renderer};
use machina_crds::content_pipeline::TemplateBinding;
use machina_template_engine::{Engine, EngineOptions, Limits, TemplateFormat, TemplateSet};
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

/// Timeout of one bundle request.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Inline templates (system prompts) kept compiled.
const MAX_INLINE: usize = 256;

/// Why a bundle could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The template service could not be reached or answered an error.
    #[error("fetching the bundle of template {template} failed: {message}")]
    Fetch {
        /// The template (`templateRef`).
        template: String,
        /// What went wrong.
        message: String,
    },
    /// The bundle does not compile.
    #[error("the bundle of template {template} does not compile: {message}")]
    Compile {
        /// The template.
        template: String,
        /// The engine's errors.
        message: String,
    },
}

/// A bundle as the template service sends it.
#[derive(Debug, Clone, Deserialize)]
pub struct Bundle {
    /// The template asked for, at the version resolved.
    pub root: BundleRoot,
    /// The root and every template it references.
    pub templates: Vec<BundleTemplate>,
}

/// The root of a [`Bundle`].
#[derive(Debug, Clone, Deserialize)]
pub struct BundleRoot {
    /// Template name.
    pub name: String,
    /// Version.
    pub version: i64,
}

/// One template of a [`Bundle`].
#[derive(Debug, Clone, Deserialize)]
pub struct BundleTemplate {
    /// Name, as other templates include it.
    pub name: String,
    /// Version.
    #[serde(default)]
    pub version: Option<i64>,
    /// Output format (`Text`, `Html`, `Markdown`, `Json`; any case).
    #[serde(default)]
    pub format: Option<String>,
    /// Jinja source.
    pub source: String,
    /// SHA-256 of the source.
    #[serde(default)]
    pub checksum: Option<String>,
    /// Sandbox limits (the root's apply to the render).
    #[serde(default)]
    pub limits: Option<Limits>,
}

fn format_of(name: Option<&str>) -> TemplateFormat {
    match name.map(str::to_ascii_lowercase).as_deref() {
        Some("html") => TemplateFormat::Html,
        Some("markdown") => TemplateFormat::Markdown,
        Some("json") => TemplateFormat::Json,
        _ => TemplateFormat::Text,
    }
}

/// A compiled bundle.
#[derive(Debug)]
struct Compiled {
    engine: Engine,
    root: String,
    version: i64,
    limits: Limits,
    /// `name@version` of every template in the bundle: a dependency activated at a new
    /// version changes it while the root version stays the same.
    fingerprint: String,
}

/// `name@version` of every template of `bundle`, sorted.
fn fingerprint(bundle: &Bundle) -> String {
    let mut parts: Vec<String> = bundle
        .templates
        .iter()
        .map(|t| format!("{}@{}", t.name, t.version.unwrap_or_default()))
        .collect();
    parts.sort();
    parts.join(";")
}

impl Compiled {
    fn new(bundle: Bundle) -> Result<Self, TemplateError> {
        let root = bundle.root.name.clone();
        let fingerprint = fingerprint(&bundle);
        let mut limits = Limits::default();
        let mut set = TemplateSet::new();
        for template in bundle.templates {
            if template.name == root {
                limits = template.limits.unwrap_or_default();
            }
            set = set.with(
                &template.name,
                format_of(template.format.as_deref()),
                &template.source,
            );
        }
        let options = EngineOptions {
            limits,
            ..EngineOptions::default()
        };
        let engine = Engine::new(set, options).map_err(|e| TemplateError::Compile {
            template: root.clone(),
            message: e.to_string(),
        })?;
        Ok(Self {
            engine,
            root,
            version: bundle.root.version,
            limits,
            fingerprint,
        })
    }
}

/// The pipeline's templates, compiled from the template service's bundles.
#[derive(Debug)]
pub struct TemplateCatalog {
    http: reqwest::Client,
    base_url: String,
    bindings: Vec<TemplateBinding>,
    /// Engine in force by local name.
    active: RwLock<HashMap<String, Arc<Compiled>>>,
    /// Every engine compiled, by `(templateRef, fingerprint)` (the versions of the root
    /// and of every dependency).
    engines: Mutex<HashMap<(String, String), Arc<Compiled>>>,
    /// Compiled inline templates (system prompts), by source.
    inline: Mutex<HashMap<String, Arc<Engine>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl TemplateCatalog {
    /// A catalog of `bindings` served by the template service at `base_url`; nothing is
    /// loaded until [`TemplateCatalog::refresh`].
    pub fn new(base_url: impl Into<String>, bindings: Vec<TemplateBinding>) -> Self {
        let http = machina_kit::hosts::apply(reqwest::Client::builder())
            .timeout(FETCH_TIMEOUT)
            .build()
            .unwrap_or_default();
        Self {
            http,
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            bindings,
            active: RwLock::new(HashMap::new()),
            engines: Mutex::new(HashMap::new()),
            inline: Mutex::new(HashMap::new()),
        }
    }

    /// Resolves every binding to its version (pinned, or the active one) and compiles the
    /// bundles not compiled yet. Pinned bindings already loaded are not fetched again.
    /// Returns the errors of the bindings that could not be loaded; they keep their
    /// current engine.
    pub async fn refresh(&self) -> Vec<TemplateError> {
        let mut errors = Vec::new();
        for binding in &self.bindings {
            let loaded = self.loaded_version(&binding.name);
            if binding.version.is_some() && loaded == binding.version {
                continue;
            }
            match self.resolve(binding).await {
                Ok(compiled) => {
                    if loaded != Some(compiled.version) {
                        tracing::info!(template = %binding.template_ref, version = compiled.version, "template version in force");
                    }
                    self.active
                        .write()
                        .unwrap_or_else(PoisonError::into_inner)
                        .insert(binding.name.clone(), compiled);
                }
                Err(err) => {
                    tracing::warn!(error = %err, template = %binding.template_ref, "keeping the current template version");
                    errors.push(err);
                }
            }
        }
        errors
    }

    /// The bindings the catalog serves.
    pub fn bindings(&self) -> &[TemplateBinding] {
        &self.bindings
    }

    /// The version in force of local template `name`.
    pub fn loaded_version(&self, name: &str) -> Option<i64> {
        self.active
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .map(|c| c.version)
    }

    /// The local names whose template is not loaded yet.
    pub fn missing(&self) -> Vec<String> {
        self.bindings
            .iter()
            .filter(|b| self.loaded_version(&b.name).is_none())
            .map(|b| b.name.clone())
            .collect()
    }

    /// `(local name, templateRef, version in force)` of every binding.
    pub fn versions(&self) -> Vec<(String, String, Option<i64>)> {
        self.bindings
            .iter()
            .map(|b| {
                let version = self.loaded_version(&b.name);
                (b.name.clone(), b.template_ref.clone(), version)
            })
            .collect()
    }

    async fn resolve(&self, binding: &TemplateBinding) -> Result<Arc<Compiled>, TemplateError> {
        let bundle = self.fetch(binding).await?;
        let key = (binding.template_ref.clone(), fingerprint(&bundle));
        if let Some(compiled) = lock(&self.engines).get(&key) {
            return Ok(compiled.clone());
        }
        // Compiling is CPU work; keep it off the async workers.
        let compiled = tokio::task::spawn_blocking(move || Compiled::new(bundle))
            .await
            .map_err(|e| TemplateError::Compile {
                template: binding.template_ref.clone(),
                message: e.to_string(),
            })??;
        let compiled = Arc::new(compiled);
        lock(&self.engines).insert(key, compiled.clone());
        Ok(compiled)
    }

    async fn fetch(&self, binding: &TemplateBinding) -> Result<Bundle, TemplateError> {
        let failed = |message: String| TemplateError::Fetch {
            template: binding.template_ref.clone(),
            message,
        };
        let url = format!(
            "{}/v1/templates/{}/bundle",
            self.base_url, binding.template_ref
        );
        let mut request = self.http.get(&url);
        if let Some(version) = binding.version {
            request = request.query(&[("version", version)]);
        }
        let response = request.send().await.map_err(|e| failed(e.to_string()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(failed(format!("{url} answered {status}")));
        }
        response
            .json::<Bundle>()
            .await
            .map_err(|e| failed(format!("invalid bundle: {e}")))
    }

    fn inline_engine(&self, source: &str) -> Result<Arc<Engine>, RenderError> {
        if let Some(engine) = lock(&self.inline).get(source) {
            return Ok(engine.clone());
        }
        let set = TemplateSet::new().with("inline", TemplateFormat::Text, source);
        let engine =
            Engine::new(set, EngineOptions::default()).map_err(|e| RenderError::Failed {
                template: "inline".to_owned(),
                message: e.to_string(),
            })?;
        let engine = Arc::new(engine);
        let mut inline = lock(&self.inline);
        if inline.len() >= MAX_INLINE {
            inline.clear();
        }
        inline.insert(source.to_owned(), engine.clone());
        Ok(engine)
    }
}

impl Renderer for TemplateCatalog {
    fn render(&self, template: &str, data: &Value) -> Result<Rendered, RenderError> {
        let compiled = self
            .active
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(template)
            .cloned()
            .ok_or_else(|| RenderError::UnknownTemplate {
                template: template.to_owned(),
            })?;
        let text = compiled
            .engine
            .render_with(&compiled.root, data, &compiled.limits)
            .map_err(|e| RenderError::Failed {
                template: template.to_owned(),
                message: e.to_string(),
            })?;
        Ok(Rendered {
            text,
            version: Some(compiled.version),
        })
    }

    fn versions_tag(&self) -> String {
        let mut versions: Vec<(String, String)> = self
            .active
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(name, compiled)| (name.clone(), compiled.fingerprint.clone()))
            .collect();
        versions.sort();
        versions
            .iter()
            .map(|(name, bundle)| format!("{name}={bundle}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    fn render_str(&self, source: &str, data: &Value) -> Result<String, RenderError> {
        self.inline_engine(source)?
            .render("inline", data)
            .map_err(|e| RenderError::Failed {
                template: "inline".to_owned(),
                message: e.to_string(),
            })
    }
}
