//! Docker images for a fabdev cluster: pull what is missing on the host, and
//! copy images from one Docker daemon to another (host → a peer's DinD through
//! a port-forward, or host → any daemon reachable by socket or TCP).
//!
//! Everything goes through bollard. A [`Daemon`] is a bollard client plus a
//! human label ("host docker (unix:///var/run/docker.sock)", "dind of
//! peer0-org1 (tcp://127.0.0.1:40123)"), and every [`ImageError`] names the
//! operation, the image and that label.
//!
//! Copies stream `GET /images/{name}/get` from the source straight into
//! `POST /images/load` on the target through a small bounded channel, so
//! memory stays flat whatever the image size and nothing touches the disk.
//! Images whose ID the target already has are skipped, and every copy is
//! checked afterwards: the target must report the source's image ID.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bollard::errors::Error as BollardError;
use bollard::query_parameters::{
    CreateImageOptions, ImportImageOptions, RemoveImageOptions, TagImageOptions,
};
use bollard::{API_DEFAULT_VERSION, ClientVersion, Docker};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use tokio::sync::{OnceCell, mpsc};

/// The socket the local Docker daemon listens on when `DOCKER_HOST` is unset.
pub const DEFAULT_SOCKET: &str = "/var/run/docker.sock";

/// Default deadline for one ordinary API request (inspect, tag, version, …).
const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Default deadline for one image load: the daemon answers only after it has
/// read and unpacked the whole tarball, so this bounds the whole upload.
const DEFAULT_TRANSFER_TIMEOUT: Duration = Duration::from_secs(60 * 60);
/// Default time a pull or an export may go without any progress.
const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(120);
/// Chunks in flight between export and load (each a few KiB to 64 KiB).
const PIPE_CHUNKS: usize = 16;
/// Bytes between two [`ImageEvent::Transferring`] events.
const PROGRESS_STEP: u64 = 4 * 1024 * 1024;

/// Everything that can go wrong with images. Each variant names what was
/// being done, to which image, on which daemon (its label).
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// The daemon's address is malformed.
    #[error("cannot use {daemon}: {reason}")]
    InvalidAddress { daemon: String, reason: String },
    /// The daemon did not answer the version handshake that precedes the
    /// first request.
    #[error("cannot reach {daemon} to {operation}")]
    Connect {
        operation: String,
        daemon: String,
        #[source]
        source: Box<BollardError>,
    },
    #[error("asking {daemon} for its version")]
    Ping {
        daemon: String,
        #[source]
        source: Box<BollardError>,
    },
    #[error("inspecting image {image} on {daemon}")]
    Inspect {
        image: String,
        daemon: String,
        #[source]
        source: Box<BollardError>,
    },
    #[error("pulling image {image} on {daemon}")]
    Pull {
        image: String,
        daemon: String,
        #[source]
        source: Box<BollardError>,
    },
    #[error("pulling image {image} on {daemon}: no progress for {} s", after.as_secs())]
    PullStalled {
        image: String,
        daemon: String,
        after: Duration,
        #[source]
        source: tokio::time::error::Elapsed,
    },
    #[error(
        "pulling image {image} on {daemon}: the pull ended but the daemon does not have the image"
    )]
    PullIncomplete { image: String, daemon: String },
    #[error("image {image} is not on {daemon}, the source of the copy")]
    MissingOnSource { image: String, daemon: String },
    #[error("exporting image {image} from {daemon}")]
    Export {
        image: String,
        daemon: String,
        #[source]
        source: Box<BollardError>,
    },
    #[error("exporting image {image} from {daemon}: no data for {} s", after.as_secs())]
    ExportStalled {
        image: String,
        daemon: String,
        after: Duration,
        #[source]
        source: tokio::time::error::Elapsed,
    },
    #[error("loading image {image} into {daemon}")]
    Load {
        image: String,
        daemon: String,
        #[source]
        source: Box<BollardError>,
    },
    #[error("tagging image {id} as {image} on {daemon}")]
    Tag {
        image: String,
        id: String,
        daemon: String,
        #[source]
        source: Box<BollardError>,
    },
    #[error("removing image {image} from {daemon}")]
    Remove {
        image: String,
        daemon: String,
        #[source]
        source: Box<BollardError>,
    },
    /// A `docker` command run in a pod (a DinD daemon reached through the
    /// API server) failed.
    #[error("{operation} image {image} on {daemon}")]
    Exec {
        operation: String,
        image: String,
        daemon: String,
        #[source]
        source: Box<crate::exec::ExecError>,
    },
    #[error(
        "loading image {image} into {daemon}: it has ID {}, but {source_daemon} has {expected}",
        found.as_deref().unwrap_or("(none)")
    )]
    IdMismatch {
        image: String,
        daemon: String,
        source_daemon: String,
        expected: String,
        found: Option<String>,
    },
}

/// What [`Daemon::ping`] learns about a daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonInfo {
    /// Engine version, e.g. `20.10.24+dfsg1`.
    pub version: String,
    /// Highest API version the engine speaks, e.g. `1.41`.
    pub api_version: String,
}

/// The input of one image load: the chunks of a `docker save` tarball (an
/// error aborts the load, so a target never loads a truncated tarball).
pub type LoadBody = BoxStream<'static, Result<bytes::Bytes, std::io::Error>>;

/// Where images can be copied to: a [`Daemon`] through its API, or a peer's
/// DinD daemon through `docker` run in its pod ([`crate::dind::Dind`]).
pub trait ImageTarget: Sync {
    /// Names the daemon in events and errors.
    fn label(&self) -> &str;
    /// The ID (`sha256:…`) the daemon has under `reference`, if any.
    fn image_id(
        &self,
        reference: &str,
    ) -> impl std::future::Future<Output = Result<Option<String>, ImageError>> + Send;
    /// Name the image `id` also `reference` (`repo:tag`).
    fn tag(
        &self,
        id: &str,
        reference: &str,
    ) -> impl std::future::Future<Output = Result<(), ImageError>> + Send;
    /// Load the tarball `body` (`image` names it in errors); resolves once
    /// the daemon has read and unpacked all of it.
    fn load(
        &self,
        image: &str,
        body: LoadBody,
    ) -> impl std::future::Future<Output = Result<(), ImageError>> + Send;
}

impl ImageTarget for Daemon {
    fn label(&self) -> &str {
        &self.label
    }

    async fn image_id(&self, reference: &str) -> Result<Option<String>, ImageError> {
        Daemon::image_id(self, reference).await
    }

    async fn tag(&self, id: &str, reference: &str) -> Result<(), ImageError> {
        let (repo, tag) = split_tag(reference).unwrap_or((reference, "latest"));
        tag_image(self, id, reference, repo, tag).await
    }

    async fn load(&self, image: &str, body: LoadBody) -> Result<(), ImageError> {
        let loader = self
            .client(|| format!("load image {image}"))
            .await?
            .clone()
            .with_timeout(self.transfer_timeout.max(Duration::from_secs(1)));
        let options = ImportImageOptions {
            quiet: true,
            ..Default::default()
        };
        let mut load: BoxStream<'_, _> = loader.import_image_stream(options, body, None).boxed();
        while let Some(message) = load.next().await {
            message.map_err(|source| ImageError::Load {
                image: image.to_string(),
                daemon: self.label.clone(),
                source: Box::new(source),
            })?;
        }
        Ok(())
    }
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

    /// A daemon on plain TCP, e.g. a DinD sidecar through a port-forward:
    /// `addr` is `127.0.0.1:40123` or `tcp://127.0.0.1:40123`.
    /// Label: `LABEL (tcp://ADDR)`.
    pub fn connect_tcp(addr: &str, label: &str) -> Result<Daemon, ImageError> {
        let addr = if addr.contains("://") {
            addr.to_string()
        } else {
            format!("tcp://{addr}")
        };
        Daemon::new(Endpoint::Tcp(addr), label)
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

/// Why [`transfer`] did not send an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// The target already has the image under this name with the same ID.
    AlreadyPresent,
    /// The target had the same ID under another name (or none); it was only tagged.
    TaggedExisting,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::AlreadyPresent => f.write_str("already present (same image ID)"),
            SkipReason::TaggedExisting => f.write_str("same image ID already present; tagged it"),
        }
    }
}

/// Progress of [`ensure_pulled`] and [`transfer`], for progress bars or log
/// lines. Daemons are named by their label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageEvent {
    /// A pull is under way; byte counts add up the layers seen so far.
    Pulling {
        image: String,
        /// The daemon's last status line, e.g. `a1b2c3: Downloading`.
        status: String,
        layers: usize,
        layers_done: usize,
        bytes_done: u64,
        bytes_total: u64,
    },
    Pulled {
        image: String,
        id: String,
    },
    /// The host already has the image: nothing pulled.
    AlreadyPresent {
        image: String,
        daemon: String,
        id: String,
    },
    /// Bytes of the image's tarball streamed so far; `bytes_expected` is the
    /// image's size on the source, which the tarball slightly exceeds.
    Transferring {
        image: String,
        to: String,
        bytes_done: u64,
        bytes_expected: u64,
    },
    Transferred {
        image: String,
        to: String,
        id: String,
        bytes: u64,
    },
    Skipped {
        image: String,
        to: String,
        id: String,
        reason: SkipReason,
    },
}

/// What [`transfer`] did, image by image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransferReport {
    pub transferred: Vec<TransferredImage>,
    pub skipped: Vec<SkippedImage>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferredImage {
    pub image: String,
    pub id: String,
    /// Size of the tarball streamed.
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedImage {
    pub image: String,
    pub id: String,
    pub reason: SkipReason,
}

impl TransferReport {
    /// Bytes streamed over all images.
    pub fn bytes(&self) -> u64 {
        self.transferred.iter().map(|t| t.bytes).sum()
    }

    /// Records (and reports) an image sent to `to`.
    pub(crate) fn sent(
        &mut self,
        image: &str,
        id: &str,
        bytes: u64,
        to: &str,
        on_event: &mut (dyn FnMut(ImageEvent) + Send),
    ) {
        on_event(ImageEvent::Transferred {
            image: image.to_string(),
            to: to.to_string(),
            id: id.to_string(),
            bytes,
        });
        self.transferred.push(TransferredImage {
            image: image.to_string(),
            id: id.to_string(),
            bytes,
        });
    }

    /// Records (and reports) an image `to` did not need.
    pub(crate) fn skip(
        &mut self,
        image: &str,
        id: &str,
        to: &str,
        reason: SkipReason,
        on_event: &mut (dyn FnMut(ImageEvent) + Send),
    ) {
        on_event(ImageEvent::Skipped {
            image: image.to_string(),
            to: to.to_string(),
            id: id.to_string(),
            reason: reason.clone(),
        });
        self.skipped.push(SkippedImage {
            image: image.to_string(),
            id: id.to_string(),
            reason,
        });
    }
}

/// Pulls `image` on `host` unless the host already has it (then emits
/// [`ImageEvent::AlreadyPresent`] and contacts no registry). A reference
/// without tag or digest means `:latest`, as with `docker pull`. A pull that
/// makes no progress for the daemon's stall timeout is abandoned.
pub async fn ensure_pulled(
    host: &Daemon,
    image: &str,
    on_event: &mut (dyn FnMut(ImageEvent) + Send),
) -> Result<(), ImageError> {
    if let Some(id) = host.image_id(image).await? {
        on_event(ImageEvent::AlreadyPresent {
            image: image.to_string(),
            daemon: host.label.clone(),
            id,
        });
        return Ok(());
    }
    let docker = host.client(|| format!("pull image {image}")).await?;
    let options = CreateImageOptions {
        from_image: Some(with_default_tag(image)),
        ..Default::default()
    };
    let mut stream = docker.create_image(Some(options), None, None);
    let mut progress = PullProgress::default();
    loop {
        let item = match tokio::time::timeout(host.stall_timeout, stream.next()).await {
            Ok(Some(item)) => item,
            Ok(None) => break,
            Err(source) => {
                return Err(ImageError::PullStalled {
                    image: image.to_string(),
                    daemon: host.label.clone(),
                    after: host.stall_timeout,
                    source,
                });
            }
        };
        let info = item.map_err(|source| ImageError::Pull {
            image: image.to_string(),
            daemon: host.label.clone(),
            source: Box::new(source),
        })?;
        progress.update(
            info.id.as_deref(),
            info.status.as_deref().unwrap_or_default(),
            info.progress_detail
                .as_ref()
                .and_then(|d| Some((d.current?, d.total?))),
        );
        on_event(ImageEvent::Pulling {
            image: image.to_string(),
            status: progress.status.clone(),
            layers: progress.layers.len(),
            layers_done: progress.layers_done(),
            bytes_done: progress.bytes_done(),
            bytes_total: progress.bytes_total(),
        });
    }
    match host.image_id(image).await? {
        Some(id) => {
            on_event(ImageEvent::Pulled {
                image: image.to_string(),
                id,
            });
            Ok(())
        }
        None => Err(ImageError::PullIncomplete {
            image: image.to_string(),
            daemon: host.label.clone(),
        }),
    }
}

/// Per-layer byte counts of a pull, from the daemon's progress messages.
#[derive(Default)]
struct PullProgress {
    layers: HashMap<String, Layer>,
    status: String,
}

#[derive(Default, Clone, Copy)]
struct Layer {
    current: u64,
    total: u64,
    done: bool,
}

impl PullProgress {
    fn update(&mut self, id: Option<&str>, status: &str, detail: Option<(i64, i64)>) {
        self.status = match id {
            Some(id) => format!("{id}: {status}"),
            None => status.to_string(),
        };
        // Messages without an ID ("Pulling from …", "Digest: …") or whose ID
        // is the tag itself are about the image, not a layer.
        let Some(id) = id.filter(|_| is_layer_status(status)) else {
            return;
        };
        let layer = self.layers.entry(id.to_string()).or_default();
        if let Some((current, total)) = detail {
            let (current, total) = (
                u64::try_from(current).unwrap_or(0),
                u64::try_from(total).unwrap_or(0),
            );
            if status.starts_with("Downloading") {
                layer.current = current;
                layer.total = total.max(layer.total);
            }
        }
        if matches!(
            status,
            "Download complete" | "Pull complete" | "Already exists"
        ) {
            layer.done = true;
            layer.current = layer.total;
        }
    }

    fn layers_done(&self) -> usize {
        self.layers.values().filter(|l| l.done).count()
    }

    fn bytes_done(&self) -> u64 {
        self.layers.values().map(|l| l.current).sum()
    }

    fn bytes_total(&self) -> u64 {
        self.layers.values().map(|l| l.total).sum()
    }
}

fn is_layer_status(status: &str) -> bool {
    [
        "Pulling fs layer",
        "Waiting",
        "Downloading",
        "Verifying Checksum",
        "Download complete",
        "Extracting",
        "Pull complete",
        "Already exists",
    ]
    .iter()
    .any(|s| status.starts_with(s))
}

/// `busybox` → `busybox:latest`; references with a tag or digest unchanged
/// (a name without tag would make the daemon pull every tag).
fn with_default_tag(reference: &str) -> String {
    if split_tag(reference).is_some() || reference.contains('@') {
        reference.to_string()
    } else {
        format!("{reference}:latest")
    }
}

/// `registry:5000/org/name:tag` → `("registry:5000/org/name", "tag")`.
fn split_tag(reference: &str) -> Option<(&str, &str)> {
    if reference.contains('@') {
        return None;
    }
    let (repo, tag) = reference.rsplit_once(':')?;
    (!tag.contains('/')).then_some((repo, tag))
}

/// Copies `images` from daemon `from` to daemon `to`, one by one, by
/// streaming `docker save` output into `docker load` (no temp file). Skips an
/// image when `to` already has the same ID under that name (or tags the ID
/// when `to` has it under another name). After each load, checks that `to`
/// reports the source's image ID.
pub async fn transfer(
    from: &Daemon,
    to: &Daemon,
    images: &[String],
    on_event: &mut (dyn FnMut(ImageEvent) + Send),
) -> Result<TransferReport, ImageError> {
    let mut reports = transfer_to_many(from, &[to], images, on_event).await?;
    Ok(reports.pop().unwrap_or_default())
}

/// [`transfer`] to several daemons at once (every peer's DinD): for each
/// image, one export from `from` streams into a load on every target that
/// needs it, concurrently, so the source exports each image once however
/// many targets there are. Returns one report per target, in order.
pub async fn transfer_to_many<T: ImageTarget>(
    from: &Daemon,
    targets: &[&T],
    images: &[String],
    on_event: &mut (dyn FnMut(ImageEvent) + Send),
) -> Result<Vec<TransferReport>, ImageError> {
    let mut reports = vec![TransferReport::default(); targets.len()];
    for image in images {
        let source = from
            .inspect(image)
            .await?
            .ok_or_else(|| ImageError::MissingOnSource {
                image: image.clone(),
                daemon: from.label.clone(),
            })?;
        let mut needing = Vec::new();
        for (i, to) in targets.iter().enumerate() {
            match to.image_id(image).await? {
                Some(id) if id == source.id => {
                    let reason = SkipReason::AlreadyPresent;
                    reports[i].skip(image, &source.id, to.label(), reason, on_event);
                    continue;
                }
                _ => {}
            }
            if split_tag(image).is_some() && to.image_id(&source.id).await?.is_some() {
                to.tag(&source.id, image).await?;
                verify(from, *to, image, &source.id).await?;
                let reason = SkipReason::TaggedExisting;
                reports[i].skip(image, &source.id, to.label(), reason, on_event);
                continue;
            }
            needing.push(i);
        }
        if needing.is_empty() {
            continue;
        }
        let tos: Vec<&T> = needing.iter().map(|&i| targets[i]).collect();
        let bytes = stream_image(from, &tos, image, source.size, on_event).await?;
        for &i in &needing {
            verify(from, targets[i], image, &source.id).await?;
            reports[i].sent(image, &source.id, bytes, targets[i].label(), on_event);
        }
    }
    Ok(reports)
}

/// Give an image in `daemon` (by name or ID) another name, `reference`
/// (`repo:tag`; `repo` alone means `:latest`).
pub async fn tag(daemon: &Daemon, image: &str, reference: &str) -> Result<(), ImageError> {
    let full = if split_tag(reference).is_some() {
        reference.to_string()
    } else {
        format!("{reference}:latest")
    };
    let (repo, tag) = split_tag(&full).unwrap_or((full.as_str(), "latest"));
    tag_image(daemon, image, reference, repo, tag).await
}

async fn tag_image(
    daemon: &Daemon,
    id: &str,
    image: &str,
    repo: &str,
    tag: &str,
) -> Result<(), ImageError> {
    let docker = daemon.client(|| format!("tag image {image}")).await?;
    let options = TagImageOptions {
        repo: Some(repo.to_string()),
        tag: Some(tag.to_string()),
    };
    docker
        .tag_image(id, Some(options))
        .await
        .map_err(|source| ImageError::Tag {
            image: image.to_string(),
            id: id.to_string(),
            daemon: daemon.label.clone(),
            source: Box::new(source),
        })
}

/// The target must now know `image` (or, for a digest reference, which a
/// load does not recreate, at least the ID) as the source's ID.
async fn verify<T: ImageTarget>(
    from: &Daemon,
    to: &T,
    image: &str,
    expected: &str,
) -> Result<(), ImageError> {
    let found = match to.image_id(image).await? {
        Some(id) => Some(id),
        None if image.contains('@') => to.image_id(expected).await?,
        None => None,
    };
    if found.as_deref() == Some(expected) {
        Ok(())
    } else {
        Err(ImageError::IdMismatch {
            image: image.to_string(),
            daemon: to.label().to_string(),
            source_daemon: from.label.clone(),
            expected: expected.to_string(),
            found,
        })
    }
}

/// Streams one image from `from` into every daemon of `tos` (one export, a
/// load on each); returns the tarball's size.
async fn stream_image<T: ImageTarget>(
    from: &Daemon,
    tos: &[&T],
    image: &str,
    bytes_expected: u64,
    on_event: &mut (dyn FnMut(ImageEvent) + Send),
) -> Result<u64, ImageError> {
    let exporter = from.client(|| format!("export image {image}")).await?;
    let mut senders = Vec::with_capacity(tos.len());
    let mut loads = Vec::with_capacity(tos.len());
    for to in tos {
        // Bounded channel: the export is read only as fast as the slowest
        // load consumes it.
        let (tx, rx) = mpsc::channel(PIPE_CHUNKS);
        senders.push(tx);
        let body: LoadBody = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|chunk| (chunk, rx))
        })
        .boxed();
        loads.push(to.load(image, body));
    }
    let label = tos.iter().map(|t| t.label()).collect::<Vec<_>>().join(", ");
    let export = exporter.export_image(image);
    export_into(
        export,
        senders,
        loads,
        from,
        &label,
        image,
        bytes_expected,
        on_event,
    )
    .await
}

/// Pumps `export` into `senders` while the `consumers` (a load or an import
/// per target, each reading one sender's chunks) run; returns the bytes
/// exported. An export failure explains failed consumers, so it wins.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn export_into<B, F, E>(
    export: impl futures_util::Stream<Item = Result<B, BollardError>>,
    senders: Vec<mpsc::Sender<Result<B, std::io::Error>>>,
    consumers: Vec<F>,
    from: &Daemon,
    to: &str,
    image: &str,
    bytes_expected: u64,
    on_event: &mut (dyn FnMut(ImageEvent) + Send),
) -> Result<u64, E>
where
    B: AsRef<[u8]> + Clone,
    F: std::future::Future<Output = Result<(), E>>,
    E: From<ImageError>,
{
    let pump = pump(export, senders, from, to, image, bytes_expected, on_event);
    let (pumped, consumed) = tokio::join!(pump, futures_util::future::join_all(consumers));
    let bytes = pumped?;
    for c in consumed {
        c?;
    }
    Ok(bytes)
}

/// Reads the export stream into the load bodies (one per target: the same
/// chunks go to each); dropping the senders at the end closes the bodies. On
/// an export error, each body is aborted with an error so no target ever
/// loads a truncated tarball. A target whose body closed early is dropped
/// (its own error says why); the export stops when none is left.
async fn pump<B: AsRef<[u8]> + Clone>(
    export: impl futures_util::Stream<Item = Result<B, BollardError>>,
    mut txs: Vec<mpsc::Sender<Result<B, std::io::Error>>>,
    from: &Daemon,
    to: &str,
    image: &str,
    bytes_expected: u64,
    on_event: &mut (dyn FnMut(ImageEvent) + Send),
) -> Result<u64, ImageError> {
    let mut export = std::pin::pin!(export);
    let mut bytes_done = 0u64;
    let mut reported = 0u64;
    let abort = async |txs: &[mpsc::Sender<Result<B, std::io::Error>>], why: &str| {
        for tx in txs {
            let _ = tx.send(Err(std::io::Error::other(why.to_string()))).await;
        }
    };
    loop {
        let chunk = match tokio::time::timeout(from.stall_timeout, export.next()).await {
            Ok(Some(Ok(chunk))) => chunk,
            Ok(None) => break,
            Ok(Some(Err(source))) => {
                abort(&txs, "export from the source failed").await;
                return Err(ImageError::Export {
                    image: image.to_string(),
                    daemon: from.label.clone(),
                    source: Box::new(source),
                });
            }
            Err(source) => {
                abort(&txs, "export from the source stalled").await;
                return Err(ImageError::ExportStalled {
                    image: image.to_string(),
                    daemon: from.label.clone(),
                    after: from.stall_timeout,
                    source,
                });
            }
        };
        bytes_done += chunk.as_ref().len() as u64;
        let mut open = Vec::with_capacity(txs.len());
        for tx in txs {
            if tx.send(Ok(chunk.clone())).await.is_ok() {
                open.push(tx);
            }
        }
        txs = open;
        if txs.is_empty() {
            break;
        }
        if bytes_done - reported >= PROGRESS_STEP {
            reported = bytes_done;
            on_event(ImageEvent::Transferring {
                image: image.to_string(),
                to: to.to_string(),
                bytes_done,
                bytes_expected,
            });
        }
    }
    Ok(bytes_done)
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
        let d = Daemon::connect_tcp("127.0.0.1:40123", "dind of peer0-org1").unwrap();
        assert_eq!(d.label(), "dind of peer0-org1 (tcp://127.0.0.1:40123)");
        let d = Daemon::connect_unix("/run/x.sock", "second dockerd").unwrap();
        assert_eq!(d.label(), "second dockerd (unix:///run/x.sock)");
        let err = Daemon::connect_tcp("127.0.0.1", "dind of peer0-org1").unwrap_err();
        assert!(
            err.to_string()
                .contains("dind of peer0-org1 (tcp://127.0.0.1)"),
            "{err}"
        );
        assert!(Daemon::connect_tcp("ssh://x:22", "x").is_err());
    }

    #[test]
    fn default_tag() {
        assert_eq!(with_default_tag("busybox"), "busybox:latest");
        assert_eq!(
            with_default_tag("hyperledger/fabric-ccenv:2.5"),
            "hyperledger/fabric-ccenv:2.5"
        );
        assert_eq!(
            with_default_tag("localhost:5000/x"),
            "localhost:5000/x:latest"
        );
        assert_eq!(with_default_tag("x@sha256:abcd"), "x@sha256:abcd");
        assert_eq!(
            split_tag("localhost:5000/x:1"),
            Some(("localhost:5000/x", "1"))
        );
        assert_eq!(split_tag("localhost:5000/x"), None);
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

    #[test]
    fn pull_progress_adds_up_layers() {
        let mut p = PullProgress::default();
        p.update(Some("2.5"), "Pulling from hyperledger/fabric-ccenv", None);
        p.update(Some("a"), "Pulling fs layer", None);
        p.update(Some("b"), "Pulling fs layer", None);
        p.update(Some("a"), "Downloading", Some((50, 100)));
        p.update(Some("b"), "Downloading", Some((10, 300)));
        assert_eq!(
            (p.bytes_done(), p.bytes_total(), p.layers_done()),
            (60, 400, 0)
        );
        p.update(Some("a"), "Download complete", None);
        assert_eq!(
            (p.bytes_done(), p.layers_done(), p.layers.len()),
            (110, 1, 2)
        );
        assert_eq!(p.status, "a: Download complete");
    }
}
