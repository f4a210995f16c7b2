//! Which cluster and how to reach it: an existing cluster's kubeconfig and
//! context ([`Access`], [`Resolved`], as kubectl reads them), and a client
//! from fabdev's own kubeconfig.

use super::*;

/// How to reach a cluster fabdev does not own: which kubeconfig, which
/// context. Both left out read as kubectl does: `$KUBECONFIG` (a list of
/// files, merged), else `~/.kube/config`, and its current context.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    /// A folder whose files are not the user's own word (the workspace: its
    /// fabdev.yaml may come from a cloned repository). A kubeconfig named
    /// inside it may not run a credential plugin (`exec`) or an auth
    /// provider: reading it would run whatever command it names.
    pub untrusted_root: Option<PathBuf>,
}

/// An [`Access`] resolved against its kubeconfig: the context chosen, its
/// cluster's server, and where the kubeconfig came from.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// Where the kubeconfig was read (a path, or `$KUBECONFIG (a:b)`).
    pub source: String,
    pub context: String,
    pub cluster: String,
    pub user: String,
    pub server: String,
    kubeconfig: Kubeconfig,
}

impl Access {
    /// Where the kubeconfig is read from, for messages.
    pub fn source(&self) -> String {
        match (&self.kubeconfig, std::env::var_os("KUBECONFIG")) {
            (Some(p), _) => p.display().to_string(),
            (None, Some(env)) if !env.is_empty() => {
                format!("$KUBECONFIG ({})", env.to_string_lossy())
            }
            (None, _) => default_kubeconfig()
                .map_or_else(|| "~/.kube/config".to_string(), |p| p.display().to_string()),
        }
    }

    /// Read the kubeconfig and find the context: the one named, else the
    /// current one. A context that is not there names the ones that are.
    pub fn resolve(&self) -> Result<Resolved, K8sError> {
        let source = self.source();
        let bad = |source_err| K8sError::ClusterKubeconfig {
            what: source.clone(),
            source: source_err,
        };
        let kc = match &self.kubeconfig {
            Some(p) => {
                let kc = Kubeconfig::read_from(p).map_err(bad)?;
                let inside = self.untrusted_root.as_ref().is_some_and(|root| {
                    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.clone());
                    std::fs::canonicalize(p).is_ok_and(|real| real.starts_with(&root))
                });
                if inside {
                    refuse_commands(&kc, &source)?;
                }
                kc
            }
            None => match Kubeconfig::from_env().map_err(bad)? {
                Some(kc) => kc,
                None => Kubeconfig::read_from(
                    default_kubeconfig()
                        .ok_or_else(|| bad(kube::config::KubeconfigError::FindPath))?,
                )
                .map_err(bad)?,
            },
        };
        resolve_context(kc, source, self.context.as_deref())
    }
}

/// The users of a kubeconfig that would run a command when a client is
/// made (an `exec` credential plugin, or an `auth-provider`), with what they
/// run. Pure.
pub fn users_with_commands(kc: &Kubeconfig) -> Vec<(String, String)> {
    kc.auth_infos
        .iter()
        .filter_map(|a| {
            let info = a.auth_info.as_ref()?;
            let what = match (&info.exec, &info.auth_provider) {
                (Some(e), _) => format!(
                    "exec credential plugin {}",
                    e.command.as_deref().unwrap_or("(no command)")
                ),
                (None, Some(p)) => format!("auth provider {}", p.name),
                (None, None) => return None,
            };
            Some((a.name.clone(), what))
        })
        .collect()
}

/// Refuses a kubeconfig that is not the user's own word (`source`, for the
/// message) when any of its users would run a command.
pub fn refuse_commands(kc: &Kubeconfig, source: &str) -> Result<(), K8sError> {
    match users_with_commands(kc).into_iter().next() {
        None => Ok(()),
        Some((user, command)) => Err(K8sError::UntrustedCommand {
            what: source.to_string(),
            user,
            command,
        }),
    }
}

/// `$HOME/.kube/config`.
pub(super) fn default_kubeconfig() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".kube").join("config"))
}

/// The context `wanted` (else the current one) of a kubeconfig read from
/// `source`, with its cluster's server.
pub fn resolve_context(
    kc: Kubeconfig,
    source: String,
    wanted: Option<&str>,
) -> Result<Resolved, K8sError> {
    let known: Vec<String> = kc.contexts.iter().map(|c| c.name.clone()).collect();
    let name = match wanted.or(kc.current_context.as_deref()) {
        Some(n) if known.iter().any(|k| k == n) => n.to_string(),
        _ => {
            return Err(K8sError::NoContext {
                what: source,
                context: wanted.or(kc.current_context.as_deref()).map(str::to_string),
                known,
            });
        }
    };
    let ctx = kc
        .contexts
        .iter()
        .find(|c| c.name == name)
        .and_then(|c| c.context.clone())
        .unwrap_or_default();
    let server = kc
        .clusters
        .iter()
        .find(|c| c.name == ctx.cluster)
        .and_then(|c| c.cluster.as_ref())
        .and_then(|c| c.server.clone())
        .unwrap_or_default();
    Ok(Resolved {
        source,
        context: name,
        cluster: ctx.cluster,
        user: ctx.user.unwrap_or_default(),
        server,
        kubeconfig: kc,
    })
}

impl Resolved {
    /// A client for this context.
    pub async fn client(&self) -> Result<Client, K8sError> {
        let options = KubeConfigOptions {
            context: Some(self.context.clone()),
            ..KubeConfigOptions::default()
        };
        let config = Config::from_custom_kubeconfig(self.kubeconfig.clone(), &options)
            .await
            .map_err(|source| K8sError::ClusterKubeconfig {
                what: self.source.clone(),
                source,
            })?;
        Client::try_from(config).map_err(|source| K8sError::Client {
            path: PathBuf::from(&self.source),
            source,
        })
    }

    /// The API server's version (`v1.33.1`): whether it answers at all.
    pub async fn server_version(&self, client: &Client) -> Result<String, K8sError> {
        let info = tokio::time::timeout(Duration::from_secs(15), client.apiserver_version())
            .await
            .map_err(|_| K8sError::Unreachable {
                context: self.context.clone(),
                server: self.server.clone(),
                source: kube::Error::Service(Box::new(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "no answer within 15s",
                ))),
            })?
            .map_err(|source| K8sError::Unreachable {
                context: self.context.clone(),
                server: self.server.clone(),
                source,
            })?;
        Ok(info.git_version)
    }
}

/// A client that talks to the cluster named in fabdev's kubeconfig (never
/// the user's `~/.kube/config`).
pub async fn client(kubeconfig: &Path) -> Result<Client, K8sError> {
    let kc = Kubeconfig::read_from(kubeconfig).map_err(|source| K8sError::Kubeconfig {
        path: kubeconfig.to_path_buf(),
        source,
    })?;
    // fabdev writes it from kind's, which runs no command; one that does
    // was put there (committed with the workspace, say).
    refuse_commands(&kc, &kubeconfig.display().to_string())?;
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .map_err(|source| K8sError::Kubeconfig {
            path: kubeconfig.to_path_buf(),
            source,
        })?;
    Client::try_from(config).map_err(|source| K8sError::Client {
        path: kubeconfig.to_path_buf(),
        source,
    })
}
