//! The kubeconfig written for clients (kubectl, kube-rs): one cluster, one user with
//! a bearer token, one context named `devcluster`.

use std::path::Path;

use serde_json::json;

/// The kubeconfig document for `server` and `token`, as YAML.
pub fn render(server: &str, token: &str) -> String {
    let doc = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "devcluster", "cluster": {"server": server}}],
        "users": [{"name": "devcluster", "user": {"token": token}}],
        "contexts": [{"name": "devcluster", "context": {"cluster": "devcluster", "user": "devcluster", "namespace": "default"}}],
        "current-context": "devcluster",
    });
    serde_yaml::to_string(&doc).unwrap_or_default()
}

/// Writes the kubeconfig with owner-only permissions (it holds the token).
pub fn write(path: &Path, server: &str, token: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, render(server, token))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}
