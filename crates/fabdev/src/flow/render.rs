//! `fabdev render`: everything `up` would apply, without a cluster.
//!
//! Steps: `workspace`, `crypto material`, `render Kubernetes objects`, and
//! with `--out DIR` `write DIR` ([`write_out`]). Without `--out` the
//! objects are the flow's result, one YAML stream the CLI prints.

use std::path::{Path, PathBuf};

use cluster::kind::Runner;
use network::render::{self, Rendered};

use super::prepare::{self, CRYPTO_STEP, RENDER_STEP};
use super::steps::{Step, StepResult, earlier, run_flow, step};
use super::{Context, FlowError, Options};
use crate::events::Sink;

/// The state the steps of `render` share.
#[derive(Debug)]
pub struct RenderRun {
    pub ctx: Context,
    out: Option<PathBuf>,
    rendered: Option<Rendered>,
}

/// The steps of `render` after `workspace`.
pub fn steps(out: Option<&Path>) -> Vec<Step<RenderRun>> {
    let mut steps = vec![
        step!(CRYPTO_STEP => crypto_material),
        step!(RENDER_STEP => render_objects),
    ];
    if let Some(out) = out {
        steps.push(step!(format!("write {}", out.display()) => write_out));
    }
    steps
}

/// Render the workspace: into the new folder `out`, or as the result.
pub async fn render(
    opts: &Options<impl Runner>,
    out: Option<&Path>,
    sink: &mut dyn Sink,
) -> Result<Rendered, FlowError> {
    let run = run_flow(
        opts,
        sink,
        |_| steps(out),
        |ctx| RenderRun {
            ctx,
            out: out.map(Path::to_path_buf),
            rendered: None,
        },
    )
    .await?;
    run.rendered.ok_or(FlowError::StepOrder {
        what: "the rendered objects",
    })
}

async fn crypto_material(run: &mut RenderRun, _: &mut dyn Sink) -> StepResult {
    let report = prepare::ensure_crypto(&run.ctx)?;
    Ok(Some(format!(
        "{} ({})",
        run.ctx.crypto.root().display(),
        prepare::crypto_detail(&report)
    )))
}

async fn render_objects(run: &mut RenderRun, _: &mut dyn Sink) -> StepResult {
    let rendered = prepare::render_objects(&run.ctx)?;
    let detail = prepare::render_detail(&rendered);
    run.rendered = Some(rendered);
    Ok(Some(detail))
}

/// The kind config and the manifests into `--out DIR`, which must not
/// exist (render writes a temporary sibling and renames it).
async fn write_out(run: &mut RenderRun, _: &mut dyn Sink) -> StepResult {
    let rendered = earlier(&run.rendered, "the rendered objects")?;
    let out = earlier(&run.out, "the output folder")?;
    render::write_out(rendered, out)?;
    Ok(Some(format!(
        "kind config and {} objects",
        rendered.objects.len()
    )))
}
