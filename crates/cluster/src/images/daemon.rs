//! A Docker daemon fabdev talks to ([`Daemon`]): its address, a label for
//! messages, the API version negotiated on the first request, and the
//! requests it answers (version, inspect, remove).

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bollard::errors::Error as BollardError;
use bollard::query_parameters::RemoveImageOptions;
use bollard::{API_DEFAULT_VERSION, ClientVersion, Docker};
use tokio::sync::OnceCell;

use super::{DEFAULT_SOCKET, ImageError};

/// Default deadline for one ordinary API request (inspect, tag, version, …).
const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Default deadline for one image load: the daemon answers only after it has
/// read and unpacked the whole tarball, so this bounds the whole upload.
const DEFAULT_TRANSFER_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// Default time a pull or an export may go without any progress.
const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(120);

/// What [`Daemon::ping`] learns about a daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonInfo {
    /// Engine version, e.g. `20.10.24+dfsg1`.
    pub version: String,
    /// Highest API version the engine speaks, e.g. `1.41`.
    pub api_version: String,
}

#[derive(Debug, Clone)]
enum Endpoint {
    Unix(PathBuf),
    Tcp(String),
}

impl Endpoint {
    fn validate(&self) -> Result<(), String> {
        match self {
            Endpoint::Unix(path) if path.as_os_str().is_empty() => {
                Err("empty socket path".to_string())
            }
            Endpoint::Unix(_) => Ok(()),
            Endpoint::Tcp(addr) => {
                let rest = addr
                    .strip_prefix("tcp://")
                    .or_else(|| addr.strip_prefix("http://"))
                    .ok_or_else(|| "only tcp:// and http:// addresses are supported".to_string())?;
                match rest.trim_end_matches('/').rsplit_once(':') {
                    Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(()),
                    _ => Err("expected HOST:PORT".to_string()),
                }
            }
        }
    }

    fn build(&self, version: &ClientVersion, timeout: Duration) -> Result<Docker, BollardError> {
        let secs = timeout.as_secs().max(1);
        match self {
            Endpoint::Unix(path) => {
                Docker::connect_with_unix(&path.to_string_lossy(), secs, version)
            }
            Endpoint::Tcp(addr) => Docker::connect_with_http(addr, secs, version),
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Unix(path) => write!(f, "unix://{}", path.display()),
            Endpoint::Tcp(addr) => write!(f, "{addr}"),
        }
    }
}

/// A Docker daemon fabdev talks to: a bollard client and a label for messages.
///
/// Connecting is lazy: the first request negotiates the API version (bollard's
/// default is newer than Docker 20.10's 1.41, and Docker 29 refuses versions
/// below 1.44, so a fixed version would not fit both).
pub struct Daemon {
    endpoint: Endpoint,
    pub(crate) label: String,
    client: OnceCell<Docker>,
    pub(crate) request_timeout: Duration,
    pub(crate) transfer_timeout: Duration,
    pub(crate) stall_timeout: Duration,
}

impl fmt::Debug for Daemon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Daemon")
            .field("label", &self.label)
            .field("request_timeout", &self.request_timeout)
            .field("transfer_timeout", &self.transfer_timeout)
            .field("stall_timeout", &self.stall_timeout)
            .finish_non_exhaustive()
    }
}

impl Daemon {
    /// The host's daemon: `DOCKER_HOST` when it is a `unix://`, `tcp://` or
    /// `http://` address, else [`DEFAULT_SOCKET`]. Label: `host docker (ADDR)`.
    pub fn connect_local() -> Result<Daemon, ImageError> {
        let endpoint = match std::env::var("DOCKER_HOST") {
            Ok(host) if host.starts_with("tcp://") || host.starts_with("http://") => {
                Endpoint::Tcp(host)
            }
            Ok(host) if host.starts_with("unix://") => {
                Endpoint::Unix(PathBuf::from(host.trim_start_matches("unix://")))
            }
            _ => Endpoint::Unix(PathBuf::from(DEFAULT_SOCKET)),
        };
        Daemon::new(endpoint, "host docker")
    }

    /// A daemon on a unix socket. Label: `LABEL (unix://PATH)`.
    pub fn connect_unix(path: impl AsRef<Path>, label: &str) -> Result<Daemon, ImageError> {
        Daemon::new(Endpoint::Unix(path.as_ref().to_path_buf()), label)
    }

    fn new(endpoint: Endpoint, label: &str) -> Result<Daemon, ImageError> {
        let label = format!("{label} ({endpoint})");
        // Nothing is contacted (nor a socket looked for) until the first
        // request, so a daemon that is still starting can be waited for.
        if let Err(reason) = endpoint.validate() {
            return Err(ImageError::InvalidAddress {
                daemon: label,
                reason,
            });
        }
        Ok(Daemon {
            endpoint,
            label,
            client: OnceCell::new(),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            transfer_timeout: DEFAULT_TRANSFER_TIMEOUT,
            stall_timeout: DEFAULT_STALL_TIMEOUT,
        })
    }

    /// Deadline for each ordinary request (default 60 s; whole seconds, at least 1).
    pub fn with_request_timeout(mut self, timeout: Duration) -> Daemon {
        self.request_timeout = timeout;
        self.client = OnceCell::new();
        self
    }

    /// Deadline for loading one image into this daemon (default 1 h).
    pub fn with_transfer_timeout(mut self, timeout: Duration) -> Daemon {
        self.transfer_timeout = timeout;
        self
    }

    /// How long a pull on this daemon, or an export from it, may go without
    /// progress before it is abandoned (default 120 s).
    pub fn with_stall_timeout(mut self, timeout: Duration) -> Daemon {
        self.stall_timeout = timeout;
        self
    }

    /// The label used in events and errors, e.g. `host docker (unix:///var/run/docker.sock)`.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The bollard client, API version negotiated, for what this module does
    /// not wrap. `operation` names what it is for in the error.
    pub async fn docker(&self, operation: &str) -> Result<Docker, ImageError> {
        self.client(|| operation.to_string()).await.cloned()
    }

    pub(crate) async fn client(
        &self,
        operation: impl FnOnce() -> String,
    ) -> Result<&Docker, ImageError> {
        self.client
            .get_or_try_init(|| self.negotiate())
            .await
            .map_err(|source| ImageError::Connect {
                operation: operation(),
                daemon: self.label.clone(),
                source: Box::new(source),
            })
    }

    /// Finds an API version both sides speak. Docker ≤ 24 rejects a too-new
    /// client version even on `/version`, but says its maximum in the error.
    async fn negotiate(&self) -> Result<Docker, BollardError> {
        let docker = self
            .endpoint
            .build(API_DEFAULT_VERSION, self.request_timeout)?;
        let server = match docker.version().await {
            Ok(version) => version.api_version.as_deref().and_then(parse_api_version),
            Err(BollardError::DockerResponseServerError {
                status_code: 400,
                message,
            }) if max_api_version(&message).is_some() => max_api_version(&message),
            Err(e) => return Err(e),
        };
        match server {
            Some(server) if server < *API_DEFAULT_VERSION => {
                let docker = self.endpoint.build(&server, self.request_timeout)?;
                docker.version().await?;
                Ok(docker)
            }
            _ => Ok(docker),
        }
    }

    /// Checks that the daemon answers, and says which engine it is.
    pub async fn ping(&self) -> Result<DaemonInfo, ImageError> {
        let docker = self.client(|| "ask for its version".to_string()).await?;
        let version = docker.version().await.map_err(|source| ImageError::Ping {
            daemon: self.label.clone(),
            source: Box::new(source),
        })?;
        Ok(DaemonInfo {
            version: version.version.unwrap_or_default(),
            api_version: version.api_version.unwrap_or_default(),
        })
    }

    /// The ID (`sha256:…`) of the image `reference` names on this daemon, or
    /// `None` when the daemon does not have it.
    pub async fn image_id(&self, reference: &str) -> Result<Option<String>, ImageError> {
        Ok(self.inspect(reference).await?.map(|found| found.id))
    }

    pub(crate) async fn inspect(&self, reference: &str) -> Result<Option<Found>, ImageError> {
        let docker = self.client(|| format!("inspect image {reference}")).await?;
        match docker.inspect_image(reference).await {
            Ok(image) => Ok(image.id.map(|id| Found {
                id,
                size: image.size.and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
            })),
            Err(BollardError::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(None),
            Err(source) => Err(ImageError::Inspect {
                image: reference.to_string(),
                daemon: self.label.clone(),
                source: Box::new(source),
            }),
        }
    }

    /// Removes the image `reference` names (forced: also when other tags or
    /// stopped containers use it). `Ok(false)` when it was not there.
    pub async fn remove_image(&self, reference: &str) -> Result<bool, ImageError> {
        let docker = self.client(|| format!("remove image {reference}")).await?;
        let options = RemoveImageOptions {
            force: true,
            ..Default::default()
        };
        match docker.remove_image(reference, Some(options), None).await {
            Ok(_) => Ok(true),
            Err(BollardError::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(false),
            Err(source) => Err(ImageError::Remove {
                image: reference.to_string(),
                daemon: self.label.clone(),
                source: Box::new(source),
            }),
        }
    }
}

pub(crate) struct Found {
    pub(crate) id: String,
    pub(crate) size: u64,
}

/// Parses `1.41` into a client version.
fn parse_api_version(text: &str) -> Option<ClientVersion> {
    let (major, minor) = text.trim().split_once('.')?;
    Some(ClientVersion {
        major_version: major.parse().ok()?,
        minor_version: minor.parse().ok()?,
    })
}

/// The maximum in Docker's "client version 1.53 is too new. Maximum supported
/// API version is 1.41" answer.
fn max_api_version(message: &str) -> Option<ClientVersion> {
    let (_, rest) = message.split_once("Maximum supported API version is ")?;
    let version: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    parse_api_version(version.trim_end_matches('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_addresses() {
        let d = Daemon::connect_unix("/run/x.sock", "second dockerd").unwrap();
        assert_eq!(d.label(), "second dockerd (unix:///run/x.sock)");
        let d = Daemon::new(Endpoint::Tcp("tcp://127.0.0.1:2375".into()), "host docker").unwrap();
        assert_eq!(d.label(), "host docker (tcp://127.0.0.1:2375)");
        let err = Daemon::new(Endpoint::Tcp("tcp://127.0.0.1".into()), "host docker").unwrap_err();
        assert!(
            err.to_string().contains("host docker (tcp://127.0.0.1)"),
            "{err}"
        );
        assert!(Daemon::new(Endpoint::Tcp("ssh://x:22".into()), "x").is_err());
        assert!(Daemon::connect_unix("", "x").is_err());
    }

    #[test]
    fn api_version_from_error() {
        let v = max_api_version(
            "client version 1.53 is too new. Maximum supported API version is 1.41",
        )
        .unwrap();
        assert_eq!((v.major_version, v.minor_version), (1, 41));
        assert!(max_api_version("something else").is_none());
    }
}
