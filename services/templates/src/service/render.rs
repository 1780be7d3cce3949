//! Reads that need the engine: dependency resolution, cached engines, renders,
//! bundles and validation.

use std::{
    collections::{BTreeMap, VecDeque},
    sync::Arc,
    time::Instant,
};

use machina_template_engine::InputSchema;
use serde_json::Value;

use super::{
    Templates, check_name,
    prepare::{build_engine, capped},
};
use crate::{
    cache::CachedEngine,
    error::{Error, Result, render_error, schema_error},
    model::{
        Bundle, BundleRoot, RenderRequest, RenderResponse, TemplateProblem, ValidateRequest,
        ValidateResponse, VersionDoc,
    },
};

/// Most templates one root may pull in (a guard against pathological graphs).
const MAX_DEPENDENCIES: usize = 256;

impl Templates {
    /// Every template `root` needs (transitively through `extends`/`includes`), at
    /// their active versions, in name order; plus the names that are not stored
    /// or are retired.
    pub(crate) async fn resolve(
        &self,
        root: &VersionDoc,
    ) -> Result<(Vec<VersionDoc>, Vec<String>)> {
        let mut found: BTreeMap<String, VersionDoc> = BTreeMap::new();
        let mut missing = Vec::new();
        let mut queue: VecDeque<String> = root.dependencies().map(str::to_owned).collect();
        while let Some(name) = queue.pop_front() {
            if name == root.name || found.contains_key(&name) || missing.contains(&name) {
                continue;
            }
            if found.len() >= MAX_DEPENDENCIES {
                return Err(Error::invalid(
                    "includes",
                    format!("more than {MAX_DEPENDENCIES} templates are pulled in"),
                ));
            }
            let template = match self.store.template(&name).await? {
                Some(t) if !t.retired => t,
                _ => {
                    missing.push(name);
                    continue;
                }
            };
            let Some(doc) = self.store.version(&name, template.active_version).await? else {
                missing.push(name);
                continue;
            };
            queue.extend(doc.dependencies().map(str::to_owned));
            found.insert(name, doc);
        }
        Ok((found.into_values().collect(), missing))
    }

    /// The version renders of `name` use: `requested`, or the active one.
    async fn render_version(&self, name: &str, requested: Option<i64>) -> Result<i64> {
        let active = match self.cache.active(name) {
            Some(v) => v,
            None => {
                let template = self.store.live_template(name).await?;
                self.cache.set_active(name, template.active_version);
                template.active_version
            }
        };
        Ok(requested.unwrap_or(active))
    }

    /// The compiled engine of `(name, version)`, from the cache or built now.
    async fn engine(&self, name: &str, version: i64) -> Result<Arc<CachedEngine>> {
        if let Some(engine) = self.cache.engine(name, version) {
            return Ok(engine);
        }
        let root = self.store.existing_version(name, version).await?;
        let (dependencies, _missing) = self.resolve(&root).await?;
        let limits = capped(root.limits, &self.limits);
        // A dependency retired since this version was stored shows up as a compile error.
        let engine = build_engine(&root, &dependencies, limits)?;
        let schema = match root.view().input_schema {
            Some(s) => {
                Some(InputSchema::compile(&s).map_err(|e| schema_error(name, "inputSchema", e))?)
            }
            None => None,
        };
        let cached = Arc::new(CachedEngine {
            engine,
            schema,
            dependencies: dependencies
                .iter()
                .map(|d| (d.name.clone(), d.version))
                .collect(),
            limits,
            root,
        });
        self.cache.put_engine(Arc::clone(&cached));
        Ok(cached)
    }

    /// Renders `name` (its active version, or `request.version`).
    pub async fn render(&self, name: &str, request: RenderRequest) -> Result<RenderResponse> {
        check_name("name", name)?;
        let started = Instant::now();
        let outcome = self.render_inner(name, request).await;
        let label = match &outcome {
            Ok(_) => "ok",
            Err(Error::Template { code, .. }) => code,
            Err(Error::Api(e)) => e.code(),
        };
        self.metrics.observe(label, started.elapsed());
        outcome
    }

    async fn render_inner(&self, name: &str, request: RenderRequest) -> Result<RenderResponse> {
        let context = request
            .context
            .unwrap_or_else(|| Value::Object(Default::default()));
        if !context.is_object() {
            return Err(Error::invalid("context", "must be a JSON object"));
        }
        let version = self.render_version(name, request.version).await?;
        let cached = self.engine(name, version).await?;
        if let Some(schema) = &cached.schema {
            schema
                .validate(&context)
                .map_err(|e| schema_error(name, "context", e))?;
        }
        let job = Arc::clone(&cached);
        let root = name.to_owned();
        // Rendering is CPU work bounded by fuel: keep it off the async workers.
        let output = tokio::task::spawn_blocking(move || {
            job.engine.render_with(&root, context, &job.limits)
        })
        .await
        .map_err(Error::internal)?
        .map_err(|e| render_error(name, e))?;
        Ok(RenderResponse {
            output,
            name: name.to_owned(),
            version,
            format: cached.root.format,
        })
    }

    /// The root version of `name` and everything it needs, at the active versions.
    pub async fn bundle(&self, name: &str, version: Option<i64>) -> Result<Bundle> {
        let template = self.store.live_template(name).await?;
        let version = version.unwrap_or(template.active_version);
        let root = self.store.existing_version(name, version).await?;
        let (dependencies, missing) = self.resolve(&root).await?;
        if !missing.is_empty() {
            let errors: Vec<TemplateProblem> = missing
                .iter()
                .map(|m| TemplateProblem {
                    template: name.to_owned(),
                    line: 0,
                    column: None,
                    message: format!(
                        "depends on template {m:?}, which is not stored (or is retired)"
                    ),
                    pointer: None,
                })
                .collect();
            return Err(Error::Template {
                code: "dependency_missing",
                detail: format!(
                    "template {name:?} version {version} depends on missing templates: {}",
                    missing.join(", ")
                ),
                errors,
            });
        }
        let mut templates = vec![root.bundle_entry()];
        templates.extend(dependencies.iter().map(VersionDoc::bundle_entry));
        Ok(Bundle {
            root: BundleRoot {
                name: name.to_owned(),
                version,
            },
            templates,
        })
    }

    /// Checks a candidate without storing it: `valid` plus every problem found.
    pub async fn validate(&self, request: ValidateRequest) -> Result<ValidateResponse> {
        let (name, content) = request.split();
        match self.prepare(&name, content).await {
            Ok(_) => Ok(ValidateResponse {
                valid: true,
                errors: Vec::new(),
            }),
            Err(Error::Template { errors, .. }) => Ok(ValidateResponse {
                valid: false,
                errors,
            }),
            Err(Error::Api(machina_kit::ApiError::Unprocessable { field, reason })) => {
                Ok(ValidateResponse {
                    valid: false,
                    errors: vec![TemplateProblem {
                        template: name,
                        line: 0,
                        column: None,
                        message: match field {
                            Some(f) => format!("{f}: {reason}"),
                            None => reason,
                        },
                        pointer: None,
                    }],
                })
            }
            Err(other) => Err(other),
        }
    }
}
