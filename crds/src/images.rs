//! Container images of every Machina binary: the one place their names and tags are defined.
//!
//! Platform defaults, `config/` and `build/images.sh` all follow this module
//! (`crdgen images` prints the list; `tests/generated.rs` checks `config/`).

/// Registry and repository prefix of the published images.
pub const REGISTRY: &str = "ghcr.io/machina-dev";

/// Tag of this release's images.
pub const TAG: &str = env!("CARGO_PKG_VERSION");

/// Image of the per-pipeline Redis instances.
pub const REDIS_IMAGE: &str = "docker.io/library/redis:7.2-alpine";

/// A Machina binary shipped as a container image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Component {
    /// The operator.
    Operator,
    /// API gateway / BFF.
    Gateway,
    /// OAuth 2.0 / OIDC provider.
    Auth,
    /// User profiles.
    Users,
    /// Structured content.
    Content,
    /// Media storage and processing.
    Media,
    /// Template store and renderer.
    Templates,
    /// ContentPipeline worker.
    Generative,
    /// Event ingestion, reporting and the AnalyticsJob worker.
    Analytics,
    /// Trends, anomalies and recommendations.
    Insights,
}

impl Component {
    /// Every component, operator first.
    pub const ALL: [Component; 10] = [
        Component::Operator,
        Component::Gateway,
        Component::Auth,
        Component::Users,
        Component::Content,
        Component::Media,
        Component::Templates,
        Component::Generative,
        Component::Analytics,
        Component::Insights,
    ];

    /// Short name (`gateway`, `auth`, …), also the Platform's key for a shared service.
    pub fn name(self) -> &'static str {
        match self {
            Component::Operator => "operator",
            Component::Gateway => "gateway",
            Component::Auth => "auth",
            Component::Users => "users",
            Component::Content => "content",
            Component::Media => "media",
            Component::Templates => "templates",
            Component::Generative => "generative",
            Component::Analytics => "analytics",
            Component::Insights => "insights",
        }
    }

    /// Name of the binary, which is also the image repository name.
    pub fn binary(self) -> String {
        format!("machina-{}", self.name())
    }

    /// Image reference with the given registry and tag overrides (defaults: [`REGISTRY`], [`TAG`]).
    pub fn image(self, registry: Option<&str>, tag: Option<&str>) -> String {
        let registry = registry.unwrap_or(REGISTRY).trim_end_matches('/');
        format!("{registry}/{}:{}", self.binary(), tag.unwrap_or(TAG))
    }

    /// Image reference of this release.
    pub fn default_image(self) -> String {
        self.image(None, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_reference_uses_overrides() {
        assert_eq!(
            Component::Gateway.default_image(),
            format!("ghcr.io/machina-dev/machina-gateway:{TAG}")
        );
        assert_eq!(
            Component::Auth.image(Some("registry.local:5000/"), Some("dev")),
            "registry.local:5000/machina-auth:dev"
        );
    }
}
