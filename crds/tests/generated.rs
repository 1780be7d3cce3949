//! Generated files are committed and current: the CRD YAML under `config/crd/bases/`, and the
//! image references in `config/` and `build/` follow `machina_crds::images`.

use machina_crds::images::{Component, REGISTRY, TAG};
use machina_crds::manifests::generated_files;
use std::path::PathBuf;

fn repo_file(path: &str) -> String {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("cannot read {}: {e}", full.display()))
}

#[test]
fn committed_crd_yaml_matches_the_types() {
    for (path, expected) in generated_files().expect("CRDs serialise") {
        let committed = repo_file(&path);
        assert!(
            committed == expected,
            "{path} differs from what the types generate; run `cargo run -p machina-crds --bin crdgen` and commit"
        );
    }
}

#[test]
fn crd_kustomization_lists_every_generated_crd() {
    let kustomization = repo_file("config/crd/kustomization.yaml");
    for (path, _) in generated_files()
        .expect("CRDs serialise")
        .into_iter()
        .filter(|(p, _)| p.ends_with(".yaml"))
    {
        let relative = path.trim_start_matches("config/crd/");
        assert!(
            kustomization.contains(relative),
            "config/crd/kustomization.yaml does not list {relative}"
        );
    }
}

#[test]
fn install_uses_the_operator_image_of_this_release() {
    let kustomization = repo_file("config/default/kustomization.yaml");
    let name = format!("{REGISTRY}/{}", Component::Operator.binary());
    assert!(
        kustomization.contains(&name),
        "config/default/kustomization.yaml does not set image {name}"
    );
    assert!(
        kustomization.contains(&format!("newTag: \"{TAG}\""))
            || kustomization.contains(&format!("newTag: {TAG}")),
        "config/default/kustomization.yaml does not pin tag {TAG}"
    );
}
