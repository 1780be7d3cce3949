//! The image mapping: which local program runs a container of a given image.
//!
//! Configuration, not code: a YAML file (see `images.example.yaml` and the README) lists
//! rules; the first whose `image` glob matches wins. Kubernetes' rules for `command` and
//! `args` apply on top: `command` replaces the image's `entrypoint` (and drops its `cmd`),
//! `args` replace `cmd`.

use crate::{Error, Result};
use k8s_openapi::api::core::v1::Container;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Template variables a rule may use in `entrypoint`, `cmd`, `commands`, `env` and `extraArgs`.
pub const TEMPLATE_VARS: [&str; 7] = [
    "WORKSPACE",
    "TARGET_DIR",
    "POD_IP",
    "POD_NAME",
    "POD_NAMESPACE",
    "POD_DIR",
    "MATCH",
];

/// The mapping file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ImageMap {
    /// Rules, first match wins.
    pub images: Vec<ImageRule>,
}

/// One rule: an image glob and how to run it here.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ImageRule {
    /// Glob over the full image reference; `*` matches any run of characters.
    pub image: String,
    /// The image's ENTRYPOINT as a local program and its leading arguments.
    pub entrypoint: Vec<String>,
    /// The image's CMD: default arguments when the container sets neither command nor args.
    #[serde(default)]
    pub cmd: Vec<String>,
    /// Local programs for a container `command[0]` (keyed by the in-image path or its base name).
    #[serde(default)]
    pub commands: BTreeMap<String, String>,
    /// Default environment; the pod's own variables win.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Arguments appended after the container's (for example `--bind ${POD_IP}`).
    #[serde(default)]
    pub extra_args: Vec<String>,
    /// Text replacements applied to exec probe commands, which run on the host.
    #[serde(default)]
    pub probe_substitutions: BTreeMap<String, String>,
}

/// Values of the template variables for one pod.
#[derive(Clone, Debug, Default)]
pub struct TemplateVars {
    /// `${WORKSPACE}`: the directory relative paths of the mapping resolve against.
    pub workspace: PathBuf,
    /// `${TARGET_DIR}`: where cargo puts build output (`CARGO_TARGET_DIR`, else `<workspace>/target`).
    pub target_dir: PathBuf,
    /// `${POD_IP}`.
    pub pod_ip: String,
    /// `${POD_NAME}`.
    pub pod_name: String,
    /// `${POD_NAMESPACE}`.
    pub pod_namespace: String,
    /// `${POD_DIR}`: the pod's directory on the host.
    pub pod_dir: PathBuf,
}

/// How to start one container: the program, its arguments and the mapping's defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct Launch {
    /// Local program.
    pub program: PathBuf,
    /// Arguments; those from the pod spec still hold `$(VAR)` references.
    pub args: Vec<String>,
    /// Default environment from the rule (already templated).
    pub env_defaults: BTreeMap<String, String>,
    /// Replacements for exec probe commands (already templated).
    pub probe_substitutions: BTreeMap<String, String>,
}

/// Why a container cannot run here; becomes the reason of a Warning Event.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotRunnable {
    /// No rule matches the image.
    #[error("image {0:?} maps to no local program (see the node's image mapping)")]
    Image(String),
    /// The container has no image.
    #[error("container has no image")]
    NoImage,
    /// The container's `command` names a program the rule does not map.
    #[error("command {command:?} of image {image:?} maps to no local program")]
    Command {
        /// The image.
        image: String,
        /// The unmapped command.
        command: String,
    },
}

impl NotRunnable {
    /// Event / waiting reason.
    pub fn reason(&self) -> &'static str {
        match self {
            NotRunnable::Image(_) | NotRunnable::NoImage => "ImageNotRunnable",
            NotRunnable::Command { .. } => "CommandNotRunnable",
        }
    }
}

impl ImageMap {
    /// Reads and validates a mapping file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(Error::io("read image mapping", path))?;
        Self::parse(&text).map_err(|reason| Error::ImageMap {
            path: path.to_owned(),
            reason,
        })
    }

    /// Parses and validates mapping YAML; the error names the field.
    pub fn parse(text: &str) -> Result<Self, String> {
        let map: ImageMap = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
        for (i, rule) in map.images.iter().enumerate() {
            if rule.image.is_empty() {
                return Err(format!("images[{i}].image: must not be empty"));
            }
            if rule.entrypoint.is_empty() {
                return Err(format!("images[{i}].entrypoint: must name a program"));
            }
            let texts = rule
                .entrypoint
                .iter()
                .chain(&rule.cmd)
                .chain(rule.commands.values())
                .chain(rule.env.values())
                .chain(&rule.extra_args)
                .chain(rule.probe_substitutions.values());
            for text in texts {
                if let Some(unknown) = unknown_var(text) {
                    return Err(format!(
                        "images[{i}]: unknown template variable ${{{unknown}}} (known: {})",
                        TEMPLATE_VARS.join(", ")
                    ));
                }
            }
        }
        Ok(map)
    }

    /// The first rule matching `image`, with what its first `*` matched.
    pub fn find(&self, image: &str) -> Option<(&ImageRule, String)> {
        self.images.iter().find_map(|rule| {
            glob(&rule.image, image).map(|caps| (rule, caps.into_iter().next().unwrap_or_default()))
        })
    }

    /// How to start `container` here, or why it cannot run.
    pub fn launch(
        &self,
        container: &Container,
        vars: &TemplateVars,
    ) -> Result<Launch, NotRunnable> {
        let image = container.image.as_deref().ok_or(NotRunnable::NoImage)?;
        let (rule, matched) = self
            .find(image)
            .ok_or_else(|| NotRunnable::Image(image.to_owned()))?;
        let t = |s: &str| expand_template(s, vars, &matched);
        let mut argv: Vec<String> = match container.command.as_deref() {
            Some([first, rest @ ..]) => {
                let base = first.rsplit('/').next().unwrap_or(first);
                let program = rule
                    .commands
                    .get(first)
                    .or_else(|| rule.commands.get(base))
                    .ok_or_else(|| NotRunnable::Command {
                        image: image.to_owned(),
                        command: first.clone(),
                    })?;
                std::iter::once(t(program))
                    .chain(rest.iter().cloned())
                    .collect()
            }
            _ => {
                let mut argv: Vec<String> = rule.entrypoint.iter().map(|s| t(s)).collect();
                if container.args.is_none() {
                    argv.extend(rule.cmd.iter().map(|s| t(s)));
                }
                argv
            }
        };
        argv.extend(container.args.iter().flatten().cloned());
        argv.extend(rule.extra_args.iter().map(|s| t(s)));
        let program = argv.remove(0);
        let program = if Path::new(&program).is_relative() && program.contains('/') {
            vars.workspace.join(program)
        } else {
            PathBuf::from(program)
        };
        Ok(Launch {
            program,
            args: argv,
            env_defaults: rule.env.iter().map(|(k, v)| (k.clone(), t(v))).collect(),
            probe_substitutions: rule
                .probe_substitutions
                .iter()
                .map(|(k, v)| (k.clone(), t(v)))
                .collect(),
        })
    }
}

/// Replaces `${VAR}` template variables; unknown names are left as written.
pub fn expand_template(text: &str, vars: &TemplateVars, matched: &str) -> String {
    let mut out = text.to_owned();
    let pairs = [
        ("WORKSPACE", vars.workspace.display().to_string()),
        ("TARGET_DIR", vars.target_dir.display().to_string()),
        ("POD_IP", vars.pod_ip.clone()),
        ("POD_NAME", vars.pod_name.clone()),
        ("POD_NAMESPACE", vars.pod_namespace.clone()),
        ("POD_DIR", vars.pod_dir.display().to_string()),
        ("MATCH", matched.to_owned()),
    ];
    for (name, value) in pairs {
        out = out.replace(&format!("${{{name}}}"), &value);
    }
    out
}

fn unknown_var(text: &str) -> Option<String> {
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let end = after.find('}')?;
        let name = &after[..end];
        if !TEMPLATE_VARS.contains(&name) {
            return Some(name.to_owned());
        }
        rest = &after[end + 1..];
    }
    None
}

/// Matches `text` against `pattern` (`*` = any run); returns what each `*` matched.
pub fn glob(pattern: &str, text: &str) -> Option<Vec<String>> {
    match pattern.split_once('*') {
        None => (pattern == text).then(Vec::new),
        Some((prefix, rest)) => {
            let tail = text.strip_prefix(prefix)?;
            // Shortest match first, so `machina-*:*` captures the repository part.
            (0..=tail.len())
                .filter(|&i| tail.is_char_boundary(i))
                .find_map(|i| {
                    glob(rest, &tail[i..]).map(|mut caps| {
                        caps.insert(0, tail[..i].to_owned());
                        caps
                    })
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    const MAP: &str = r#"
images:
  - image: "ghcr.io/machina-dev/machina-*:*"
    entrypoint: ["target/debug/machina-${MATCH}"]
    env:
      LISTEN_ADDR: "${POD_IP}:8080"
  - image: "docker.io/library/redis:*"
    entrypoint: ["/usr/bin/redis-server"]
    commands:
      redis-server: /usr/bin/redis-server
    extraArgs: ["--bind", "${POD_IP}"]
    probeSubstitutions:
      "redis-cli": "redis-cli -h ${POD_IP}"
"#;

    fn vars() -> TemplateVars {
        TemplateVars {
            workspace: "/ws".into(),
            target_dir: "/ws/target".into(),
            pod_ip: "127.10.0.2".into(),
            pod_name: "p".into(),
            pod_namespace: "ns".into(),
            pod_dir: "/state/p".into(),
        }
    }

    fn container(image: &str) -> Container {
        Container {
            name: "c".into(),
            image: Some(image.into()),
            ..Container::default()
        }
    }

    #[test]
    fn glob_captures_shortest_runs() {
        assert_eq!(
            glob("ghcr.io/x/machina-*:*", "ghcr.io/x/machina-templates:0.1.0"),
            Some(vec!["templates".to_owned(), "0.1.0".to_owned()])
        );
        assert_eq!(glob("redis:*", "nginx:1"), None);
        assert_eq!(glob("exact", "exact"), Some(vec![]));
    }

    #[test]
    fn machina_image_runs_workspace_binary_with_defaults() {
        let map = ImageMap::parse(MAP).expect("parse");
        let launch = map
            .launch(
                &container("ghcr.io/machina-dev/machina-templates:0.1.0"),
                &vars(),
            )
            .expect("launch");
        assert_eq!(
            launch.program,
            PathBuf::from("/ws/target/debug/machina-templates")
        );
        assert!(launch.args.is_empty());
        assert_eq!(launch.env_defaults["LISTEN_ADDR"], "127.10.0.2:8080");
    }

    #[test]
    fn container_command_maps_through_commands_and_args_follow() {
        let map = ImageMap::parse(MAP).expect("parse");
        let mut c = container("docker.io/library/redis:7.2-alpine");
        c.command = Some(vec!["redis-server".into()]);
        c.args = Some(vec!["--requirepass".into(), "$(REDIS_PASSWORD)".into()]);
        let launch = map.launch(&c, &vars()).expect("launch");
        assert_eq!(launch.program, PathBuf::from("/usr/bin/redis-server"));
        assert_eq!(
            launch.args,
            ["--requirepass", "$(REDIS_PASSWORD)", "--bind", "127.10.0.2"]
        );
        assert_eq!(
            launch.probe_substitutions["redis-cli"],
            "redis-cli -h 127.10.0.2"
        );
    }

    #[test]
    fn unmapped_image_and_command_are_not_runnable() {
        let map = ImageMap::parse(MAP).expect("parse");
        let err = map
            .launch(&container("nginx:1.27"), &vars())
            .expect_err("unmapped");
        assert_eq!(err.reason(), "ImageNotRunnable");
        assert!(err.to_string().contains("nginx:1.27"));
        let mut c = container("docker.io/library/redis:7");
        c.command = Some(vec!["/bin/bash".into()]);
        assert_eq!(
            map.launch(&c, &vars()).expect_err("cmd").reason(),
            "CommandNotRunnable"
        );
    }

    #[test]
    fn bad_files_name_the_field() {
        let err = ImageMap::parse("images:\n  - image: x\n    entrypoint: []\n").expect_err("bad");
        assert!(err.contains("images[0].entrypoint"), "{err}");
        let err = ImageMap::parse("images:\n  - image: x\n    entrypoint: [\"${NOPE}\"]\n")
            .expect_err("bad");
        assert!(err.contains("NOPE"), "{err}");
        let err = ImageMap::parse("images:\n  - image: x\n    entry: [a]\n").expect_err("bad");
        assert!(err.contains("entry"), "{err}");
    }
}
