//! A Node chaincode's image in two layers: its installed dependencies,
//! made once per dependency key in each daemon, and its sources over them.
//!
//! The peer's build of a Node chaincode is `cp -R src/. output` then
//! `npm install`/`npm ci` in `output`; its image is the runtime image
//! with that whole output added at `/usr/local/src`. fabdev makes the
//! same files in two layers: an image of the runtime image with what the
//! build added to the sources (`node_modules`, a lockfile npm wrote), the
//! peer's labels and `CORE_CHAINCODE_BUILDLEVEL`, named by the key of
//! `package.json` and the lockfile ([`super::node_key`]); then, for each
//! package, that image with the package's sources added. An edit that
//! keeps the dependencies therefore runs no build at all: the sources come
//! straight out of the package, and each daemon receives only them (a few
//! kilobytes) for a one-step `docker build`. A file the build changed in
//! the sources (npm rewriting an existing lockfile) is the package's in the
//! image, not npm's, as with the cache of installed dependencies before.

use std::collections::BTreeSet;
use std::io::Read as _;
use std::time::Instant;

use network::channel::PeerClient;

use super::PeerImages;
use super::{ImageBuildError, PackageParts, WarmBuilder, context_with, node_key};
use crate::event::LifecycleEvent;
use crate::join::futures_join_all;
use crate::names::{NETWORK_ID, chaincode_image_name};

/// The name of the image of a Node chaincode's installed dependencies
/// (under `.invalid`, so that a daemon never tries to pull it).
pub fn dependencies_tag(key: &str) -> String {
    format!("fabdev.invalid/chaincode-node-deps:{key}")
}

/// The Dockerfile of the dependencies' image: the peer's, adding what the
/// build added to the sources.
pub fn dependencies_dockerfile(runtime: &str, version: &str) -> String {
    super::dockerfile(runtime, "NODE", version).replace("binpackage.tar", "dependencies.tar")
}

/// The Dockerfile of a package's image over its dependencies' image.
pub fn sources_dockerfile(dependencies: &str) -> String {
    format!("FROM {dependencies}\nADD sources.tar /usr/local/src")
}

fn bad(e: std::io::Error) -> ImageBuildError {
    ImageBuildError::Package(format!("code.tar.gz: {e}"))
}

/// The package's sources as the build copies them (`code.tar.gz`'s `src/`
/// files, re-rooted; owned by root), and their paths.
pub fn node_sources(code: &[u8]) -> Result<(Vec<u8>, BTreeSet<String>), ImageBuildError> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(code));
    let mut out = tar::Builder::new(Vec::new());
    let mut paths = BTreeSet::new();
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let name = entry.path().map_err(bad)?.to_string_lossy().into_owned();
        let Some(rel) = name.strip_prefix("src/").filter(|r| !r.is_empty()) else {
            continue;
        };
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).map_err(bad)?;
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(entry.header().mode().map_err(bad)? & 0o7777);
        h.set_entry_type(tar::EntryType::Regular);
        out.append_data(&mut h, rel, bytes.as_slice())
            .map_err(bad)?;
        paths.insert(rel.trim_end_matches('/').to_string());
    }
    Ok((out.into_inner().map_err(bad)?, paths))
}

/// What the build added to the sources: the build's output (the tar of
/// `/chaincode/output/.`) without the source files.
pub fn node_dependencies(
    output: &[u8],
    sources: &BTreeSet<String>,
) -> Result<Vec<u8>, ImageBuildError> {
    let mut archive = tar::Archive::new(output);
    let mut out = tar::Builder::new(Vec::new());
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let name = entry.path().map_err(bad)?.to_string_lossy().into_owned();
        let rel = name.trim_start_matches("./").trim_end_matches('/');
        if rel.is_empty() || rel == "." || sources.contains(rel) {
            continue;
        }
        let mut header = entry.header().clone();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).map_err(bad)?;
        out.append_data(&mut header, rel, bytes.as_slice())
            .map_err(bad)?;
    }
    out.into_inner().map_err(bad)
}

/// A Node package's image in each missing peer's daemon: the dependencies'
/// image where it is missing (one warm build, then its layer), then the
/// sources over it. A peer whose image was not made builds it itself.
pub(crate) async fn place_node(
    images: &dyn PeerImages,
    builder: &WarmBuilder,
    parts: &PackageParts,
    package_id: &str,
    missing: &[&PeerClient],
    on_event: &mut (dyn FnMut(LifecycleEvent) + Send),
) -> Result<(), ImageBuildError> {
    let start = Instant::now();
    let id = builder.builder_id(&builder.images.nodeenv).await?;
    let key = node_key(&parts.code, &id)?;
    let deps = dependencies_tag(&key);
    let (sources, paths) = node_sources(&parts.code)?;
    let context = context_with(&sources_dockerfile(&deps), "sources.tar", &sources)?;
    let present = futures_join_all(
        missing
            .iter()
            .map(|c| images.has_image(c.node(), &deps))
            .collect(),
    )
    .await;
    // The dependencies' layer, built (warm) only when a daemon lacks it,
    // over the runtime, copied first into the daemons that lack that too.
    let mut deps_context = None;
    if present.iter().any(|p| !p) {
        let without: Vec<&PeerClient> = missing
            .iter()
            .zip(&present)
            .filter(|(_, p)| !**p)
            .map(|(c, _)| *c)
            .collect();
        let runtime = &builder.images.nodeenv;
        let (built, lacking) = tokio::join!(
            builder.run(parts, &id),
            super::lacking(images, &without, runtime)
        );
        let built = built?;
        super::seed_runtime(images, runtime, lacking, on_event)
            .await
            .map_err(ImageBuildError::Runtime)?;
        let layer = node_dependencies(&built.output, &paths)?;
        let dockerfile =
            dependencies_dockerfile(&builder.images.nodeenv, &builder.images.peer_version);
        deps_context = Some(context_with(&dockerfile, "dependencies.tar", &layer)?);
    }
    on_event(LifecycleEvent::Built {
        bytes: sources.len() + deps_context.as_ref().map_or(0, Vec::len),
        took: start.elapsed(),
    });
    let (context, deps, deps_context) = (&context, &deps, &deps_context);
    let placed = futures_join_all(
        missing
            .iter()
            .zip(present)
            .map(|(c, present)| async move {
                let start = Instant::now();
                let peer = c.node();
                if !present
                    && let Some(ctx) = deps_context
                    && images.build_image(peer, deps, ctx).await.is_err()
                {
                    return None;
                }
                let name = chaincode_image_name(NETWORK_ID, peer, package_id);
                let ok = images.build_image(peer, &name, context).await.is_ok();
                ok.then(|| start.elapsed())
            })
            .collect(),
    )
    .await;
    super::report_placed(missing, &placed, on_event);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::Regular);
            b.append_data(&mut h, name, *data).expect("append");
        }
        b.into_inner().expect("tar")
    }

    fn names(tar_bytes: &[u8]) -> Vec<String> {
        tar::Archive::new(tar_bytes)
            .entries()
            .expect("entries")
            .map(|e| {
                e.expect("entry")
                    .path()
                    .expect("path")
                    .to_string_lossy()
                    .into_owned()
            })
            .collect()
    }

    #[test]
    fn the_sources_are_the_packages_src_files_rerooted() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("package.json"),
            r#"{"scripts":{"start":"x"}}"#,
        )
        .expect("write");
        std::fs::create_dir_all(dir.path().join("lib")).expect("mkdir");
        std::fs::write(dir.path().join("lib/a.js"), "1").expect("write");
        std::fs::create_dir_all(dir.path().join("META-INF/statedb/couchdb/indexes"))
            .expect("mkdir");
        std::fs::write(
            dir.path().join("META-INF/statedb/couchdb/indexes/i.json"),
            r#"{"index":{"fields":["a"]},"name":"i","type":"json"}"#,
        )
        .expect("write");
        let opts = crate::package::PackageOptions {
            label: Some("k_1".into()),
            lang: None,
        };
        let pkg = crate::package::package_dir(dir.path(), &opts).expect("package");
        let parts = super::super::package_parts(&pkg.bytes).expect("parts");
        let (tar_bytes, paths) = node_sources(&parts.code).expect("sources");
        // META-INF is the peer's, not the build's: it is not copied.
        assert_eq!(names(&tar_bytes), ["lib/a.js", "package.json"]);
        assert_eq!(
            paths.into_iter().collect::<Vec<_>>(),
            ["lib/a.js", "package.json"]
        );
    }

    #[test]
    fn the_dependencies_are_the_output_without_the_sources() {
        let output = tar_of(&[
            ("./", b""),
            ("./package.json", b"{}"),
            ("./lib/a.js", b"1"),
            ("./node_modules/m/index.js", b"m"),
            ("./package-lock.json", b"{}"),
        ]);
        let sources: BTreeSet<String> = ["package.json", "lib/a.js"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let deps = node_dependencies(&output, &sources).expect("deps");
        assert_eq!(
            names(&deps),
            ["node_modules/m/index.js", "package-lock.json"]
        );
    }

    #[test]
    fn the_layers_dockerfiles_make_the_peers_image() {
        let deps = dependencies_dockerfile("hyperledger/fabric-nodeenv:2.5.8", "2.5.14");
        assert_eq!(
            deps,
            super::super::dockerfile("hyperledger/fabric-nodeenv:2.5.8", "NODE", "2.5.14")
                .replace("binpackage.tar", "dependencies.tar")
        );
        assert!(deps.contains("ADD dependencies.tar /usr/local/src"));
        assert_eq!(
            sources_dockerfile(&dependencies_tag("k")),
            "FROM fabdev.invalid/chaincode-node-deps:k\nADD sources.tar /usr/local/src"
        );
    }
}
