//! Copies between daemons: one `docker save` stream from the source fed
//! into a load on every target that lacks the image ([`transfer_to_many`]),
//! each copy checked against the source's image ID afterwards.

use std::fmt;
use std::time::Duration;

use bollard::errors::Error as BollardError;
use bollard::query_parameters::{ImportImageOptions, TagImageOptions};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use tokio::sync::mpsc;

use super::pull::split_tag;
use super::{Daemon, ImageError, ImageEvent};

/// Chunks in flight between export and load (each a few KiB to 64 KiB).
const PIPE_CHUNKS: usize = 16;

/// Bytes between two [`ImageEvent::Transferring`] events.
const PROGRESS_STEP: u64 = 4 * 1024 * 1024;

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

/// The ID a target has under `image` after a load. A load keeps the names
/// the export gave, and podman exports (and names on load) `NAME:TAG` as
/// `localhost/NAME:TAG`: when `image` does not name `expected`,
/// `name_the_id` names the loaded ID `image` (`false`: the target has no
/// such ID) and the name is read again. Shared by the loads into daemons
/// and DinD sidecars ([`verify`]) and into kind nodes
/// (`crate::node_images`).
pub(crate) async fn id_after_load<E, Read, Name>(
    expected: &str,
    id_of_name: impl Fn() -> Read,
    name_the_id: impl FnOnce() -> Name,
) -> Result<Option<String>, E>
where
    Read: std::future::Future<Output = Result<Option<String>, E>>,
    Name: std::future::Future<Output = Result<bool, E>>,
{
    let found = id_of_name().await?;
    if found.as_deref() == Some(expected) || !name_the_id().await? {
        return Ok(found);
    }
    id_of_name().await
}

/// The target must now know `image` (or, for a digest reference, which a
/// load does not recreate, at least the ID) as the source's ID; a load that
/// kept another name for it is named `image` ([`id_after_load`]).
async fn verify<T: ImageTarget>(
    from: &Daemon,
    to: &T,
    image: &str,
    expected: &str,
) -> Result<(), ImageError> {
    let named = id_after_load(
        expected,
        || to.image_id(image),
        || async {
            if split_tag(image).is_none() || to.image_id(expected).await?.is_none() {
                return Ok(false);
            }
            to.tag(expected, image).await?;
            Ok(true)
        },
    )
    .await?;
    let found = match named {
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
