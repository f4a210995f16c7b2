//! Pulls on the host: [`ensure_pulled`] pulls an image the host lacks,
//! reporting per-layer progress, and gives up on a pull that stalls.

use std::collections::HashMap;

use bollard::query_parameters::CreateImageOptions;
use futures_util::StreamExt;

use super::{Daemon, ImageError, ImageEvent};

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
pub(super) fn split_tag(reference: &str) -> Option<(&str, &str)> {
    if reference.contains('@') {
        return None;
    }
    let (repo, tag) = reference.rsplit_once(':')?;
    (!tag.contains('/')).then_some((repo, tag))
}

#[cfg(test)]
mod tests {
    use super::*;

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
