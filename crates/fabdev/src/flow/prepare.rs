//! What `up` and `render` share: the crypto material (created when missing,
//! never rotated) and the rendered Kubernetes objects.

use network::pki::{self, CryptoReport};
use network::render::{self, NodeFiles, Rendered};

use super::steps::run_step;
use super::{Context, FlowError};
use crate::events::Sink;

pub(crate) const CRYPTO_STEP: &str = "crypto material";
pub(crate) const RENDER_STEP: &str = "render Kubernetes objects";

/// Every node's and user's keys and certificates, made when missing.
pub fn ensure_crypto(ctx: &Context) -> Result<CryptoReport, FlowError> {
    Ok(pki::ensure(&ctx.ws, &ctx.topo, &ctx.crypto)?)
}

/// The kind config and every Kubernetes object, from the crypto folder.
pub fn render_objects(ctx: &Context) -> Result<Rendered, FlowError> {
    let mut files = NodeFiles::new();
    for node in &ctx.topo.nodes {
        files.insert(
            node.name.clone(),
            pki::read_tree(&ctx.crypto.node_dir(node))?,
        );
    }
    Ok(render::render(&ctx.ws, &ctx.topo, &files)?)
}

pub(crate) fn crypto_detail(r: &CryptoReport) -> String {
    format!("{} created, {} reused", r.created.len(), r.reused.len())
}

pub(crate) fn render_detail(r: &Rendered) -> String {
    format!("{} objects", r.objects.len())
}

/// The first two steps of `up` on their own: crypto, then the objects.
pub async fn prepare(ctx: &Context, sink: &mut dyn Sink) -> Result<Rendered, FlowError> {
    run_step(
        sink,
        CRYPTO_STEP,
        |r| Some(crypto_detail(r)),
        async |_: &mut dyn Sink| ensure_crypto(ctx),
    )
    .await?;
    run_step(
        sink,
        RENDER_STEP,
        |r| Some(render_detail(r)),
        async |_: &mut dyn Sink| render_objects(ctx),
    )
    .await
}
