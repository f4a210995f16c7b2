//! Warm builds, once: fabdev builds a chaincode's image itself and every
//! peer runs it, none builds it.
//!
//! A peer's Docker builder (Fabric 2.5 `core/container/dockercontroller`
//! and `core/chaincode/platforms`) inspects the image named by
//! `GetVMNameForDocker` ([`crate::lifecycle::chaincode_image_name`]) and
//! builds only when it is missing, in two steps:
//!
//! 1. a container of the builder image (`chaincode.builder`, ccenv, for
//!    Go; `chaincode.node.runtime`, nodeenv, for Node) runs the platform's
//!    script with the package's `code.tar.gz` at `/chaincode/input`; what
//!    it leaves in `/chaincode/output` becomes `binpackage.tar`;
//! 2. `docker build` of a context holding a Dockerfile (`FROM` the runtime
//!    image, `ADD binpackage.tar` to `/usr/local/bin` (Go) or
//!    `/usr/local/src` (Node), the chaincode type and version labels,
//!    `CORE_CHAINCODE_BUILDLEVEL`) and `binpackage.tar`.
//!
//! fabdev runs step 1 here ([`WarmBuilder::build`]) with the same images,
//! script and environment, in the host's Docker, with a cache volume over
//! the builder's `/tmp` ([`cluster::builder`]): Go's build and module
//! caches live there, and for Node the installed `node_modules` keyed by
//! the hash of `package.json` and the lockfile, copied in when the key is
//! unchanged instead of installed again. Step 2 then runs in each peer's
//! daemon under the name that peer derives ([`PeerImages::build_image`]),
//! sent only the context (the Dockerfile and `binpackage.tar`), so what
//! each daemon receives is the build's output, never the base layers, and
//! what runs is what the peer would have built. When the warm build cannot
//! run (no builder image on the host, no Docker), the peers build as before.
//!
//! A Node chaincode's image is made in two layers ([`node`]): its installed
//! dependencies once per daemon and dependency key, then its sources, so
//! an edit that keeps the dependencies runs no build and sends each daemon
//! only the sources.
//!
//! [`PeerImages::build_image`]: crate::lifecycle::PeerImages::build_image

pub mod node;
mod peers;

pub use peers::{BoxFuture, ImageSource, PeerImageError, PeerImages, Seeded};

use std::io::Read as _;
use std::time::{Duration, Instant};

use cluster::builder::{BuilderError, BuilderRun, run_builder};
use cluster::images::Daemon;
use network::channel::PeerClient;
use sha2::{Digest, Sha256};

use crate::event::LifecycleEvent;
use crate::join::futures_join_all;

/// How long one warm build may take.
pub const BUILD_TIMEOUT: Duration = Duration::from_secs(600);

/// The images and version the peers build with: the values of their
/// `CORE_CHAINCODE_BUILDER`, `CORE_CHAINCODE_GOLANG_RUNTIME`,
/// `CORE_CHAINCODE_NODE_RUNTIME`, and the peer's version (its images'
/// labels and `CORE_CHAINCODE_BUILDLEVEL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildImages {
    pub ccenv: String,
    pub baseos: String,
    pub nodeenv: String,
    /// The peer's version (`2.5.14`).
    pub peer_version: String,
}

impl BuildImages {
    /// The builder image of a chaincode type (`GOLANG`: ccenv, `NODE`:
    /// nodeenv, which is also Node's runtime); `None` for a type fabdev
    /// does not build.
    pub fn builder_of_type(&self, fabric_type: &str) -> Option<&String> {
        match fabric_type {
            "GOLANG" => Some(&self.ccenv),
            "NODE" => Some(&self.nodeenv),
            _ => None,
        }
    }

    /// The image a chaincode type runs on (`GOLANG`: baseos, `NODE`:
    /// nodeenv); `None` for a type fabdev does not build.
    pub fn runtime_of_type(&self, fabric_type: &str) -> Option<&String> {
        match fabric_type {
            "GOLANG" => Some(&self.baseos),
            "NODE" => Some(&self.nodeenv),
            _ => None,
        }
    }
}

/// Builds chaincode images on a Docker daemon (the host's), warm.
#[derive(Debug)]
pub struct WarmBuilder {
    daemon: Daemon,
    images: BuildImages,
}

/// Errors of a warm build.
#[derive(Debug, thiserror::Error)]
pub enum ImageBuildError {
    #[error("the package is not a Fabric chaincode package: {0}")]
    Package(String),
    #[error("chaincode type `{0}` is not built by fabdev (only golang and node)")]
    Type(String),
    #[error("the builder image {image} is not in {daemon}")]
    NoImage { image: String, daemon: String },
    #[error("cannot make the build context of {file}")]
    Context {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot look up the builder image {image} in {daemon}")]
    Lookup {
        image: String,
        daemon: String,
        #[source]
        source: Box<cluster::images::ImageError>,
    },
    #[error(transparent)]
    Builder(#[from] BuilderError),
    #[error("the peers' daemons lack what the chaincode runs on")]
    Runtime(#[source] PeerImageError),
}

impl ImageBuildError {
    /// The fix to paste, when there is one.
    pub fn hint(&self) -> Option<String> {
        match self {
            ImageBuildError::NoImage { .. } => Some(
                "pull or make it (scripts/setup/builder-images.sh makes local stand-ins)"
                    .to_string(),
            ),
            ImageBuildError::Builder(e) if e.is_build_failure() => {
                Some("fix the error above and deploy again".to_string())
            }
            _ => None,
        }
    }

    /// Whether the chaincode itself does not build (the peer's own build
    /// would fail the same way): then the build's output is the error to
    /// show, and no peer should try.
    pub fn is_build_failure(&self) -> bool {
        matches!(self, ImageBuildError::Builder(e) if e.is_build_failure())
    }
}

/// A package's parts the build needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageParts {
    /// Upper-cased, as the peer has it: `GOLANG`, `NODE`.
    pub fabric_type: String,
    /// metadata.json's `path`.
    pub path: String,
    /// `code.tar.gz`.
    pub code: Vec<u8>,
}

/// Read a package file: `gzip(tar[metadata.json, code.tar.gz])`.
pub fn package_parts(package: &[u8]) -> Result<PackageParts, ImageBuildError> {
    let bad = |m: String| ImageBuildError::Package(m);
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(package));
    let mut metadata = None;
    let mut code = None;
    for entry in archive.entries().map_err(|e| bad(e.to_string()))? {
        let mut entry = entry.map_err(|e| bad(e.to_string()))?;
        let name = entry
            .path()
            .map_err(|e| bad(e.to_string()))?
            .to_string_lossy()
            .into_owned();
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| bad(e.to_string()))?;
        match name.as_str() {
            "metadata.json" => metadata = Some(bytes),
            "code.tar.gz" => code = Some(bytes),
            _ => {}
        }
    }
    let metadata = metadata.ok_or_else(|| bad("no metadata.json".into()))?;
    let code = code.ok_or_else(|| bad("no code.tar.gz".into()))?;
    let m: serde_json::Value =
        serde_json::from_slice(&metadata).map_err(|e| bad(format!("metadata.json: {e}")))?;
    let field = |k: &str| m.get(k).and_then(|v| v.as_str()).unwrap_or_default();
    Ok(PackageParts {
        fabric_type: field("type").to_ascii_uppercase(),
        path: field("path").to_string(),
        code,
    })
}

/// The Go build script of Fabric 2.5 (`platforms/golang`), statically
/// linked (`chaincode.golang.dynamicLink` false), for the package `path`.
pub fn go_script(path: &str) -> String {
    let ld = "-ldflags \"-linkmode external -extldflags '-static'\"";
    format!(
        r#"
set -e
if [ -f "/chaincode/input/src/go.mod" ] && [ -d "/chaincode/input/src/vendor" ]; then
    cd /chaincode/input/src
    GO111MODULE=on go build -v -mod=vendor {ld} -o /chaincode/output/chaincode {path}
elif [ -f "/chaincode/input/src/go.mod" ]; then
    cd /chaincode/input/src
    GO111MODULE=on go build -v -mod=readonly {ld} -o /chaincode/output/chaincode {path}
elif [ -f "/chaincode/input/src/{path}/go.mod" ] && [ -d "/chaincode/input/src/{path}/vendor" ]; then
    cd /chaincode/input/src/{path}
    GO111MODULE=on go build -v -mod=vendor {ld} -o /chaincode/output/chaincode .
elif [ -f "/chaincode/input/src/{path}/go.mod" ]; then
    cd /chaincode/input/src/{path}
    GO111MODULE=on go build -v -mod=readonly {ld} -o /chaincode/output/chaincode .
else
    GO111MODULE=off GOPATH=/chaincode/input:$GOPATH go build -v {ld} -o /chaincode/output/chaincode {path}
fi
echo Done!
"#
    )
}

/// The Node build script of Fabric 2.5 (`platforms/node`): the image's
/// `/chaincode/build.sh` when it has one, else a copy of the sources and
/// their production dependencies installed; where the peer's fallback runs
/// `npm install --production`, fabdev's runs `npm ci` from the package's
/// lockfile when it has one, and never an install script (see
/// [`NODE_ENV`], which holds for the image's build.sh too).
pub const NODE_SCRIPT: &str = r#"
set -e
if [ -x /chaincode/build.sh ]; then
	/chaincode/build.sh
else
	cp -R /chaincode/input/src/. /chaincode/output && cd /chaincode/output
	if [ -f package-lock.json ] || [ -f npm-shrinkwrap.json ]; then
		npm ci --omit=dev --ignore-scripts
	else
		npm install --omit=dev --ignore-scripts
	fi
fi
"#;

/// The environment of a Node build: npm runs no install script of the
/// package or of a dependency (`ignore-scripts`), whichever npm command
/// the builder image's own `build.sh` runs.
pub const NODE_ENV: &[&str] = &["npm_config_ignore_scripts=true"];

/// The Node script with the installed `node_modules` kept under `key` in
/// the cache: copied in when there, else the peer's script runs and its
/// `node_modules` is kept (best effort: a cache that cannot be written
/// changes nothing).
pub fn node_script(key: &str) -> String {
    format!(
        r#"
set -e
C=/tmp/fabdev-node/{key}
if [ -d "$C/node_modules" ]; then
    cp -R /chaincode/input/src/. /chaincode/output
    cp -a "$C/node_modules" /chaincode/output/node_modules
    echo "node_modules from the cache ({key})"
else
{NODE_SCRIPT}
    if [ -d /chaincode/output/node_modules ]; then
        T="$C.tmp.$$"
        ( mkdir -p "$T" && cp -a /chaincode/output/node_modules "$T/" && mv "$T" "$C" ) 2>/dev/null || rm -rf "$T"
    fi
fi
"#
    )
}

/// The environment of the Go build, as the peer gives it (`GOPROXY`, the
/// public proxy unless set), plus the caches' places in the volume.
pub fn go_env() -> Vec<String> {
    vec![
        "GOPROXY=https://proxy.golang.org".to_string(),
        "GOCACHE=/tmp/fabdev-go/build".to_string(),
        "GOMODCACHE=/tmp/fabdev-go/mod".to_string(),
    ]
}

/// The key of a Node package's installed dependencies: the hash of its
/// `package.json` and lockfile (either one), of the builder image, and of
/// how they are installed ([`NODE_ENV`]: dependencies installed before
/// fabdev ran no install scripts are not reused).
pub fn node_key(code: &[u8], builder_id: &str) -> Result<String, ImageBuildError> {
    let bad = |e: std::io::Error| ImageBuildError::Package(format!("code.tar.gz: {e}"));
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(code));
    let mut found: Vec<(String, Vec<u8>)> = Vec::new();
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let name = entry.path().map_err(bad)?.to_string_lossy().into_owned();
        if [
            "src/package.json",
            "src/package-lock.json",
            "src/npm-shrinkwrap.json",
        ]
        .contains(&name.as_str())
        {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).map_err(bad)?;
            found.push((name, bytes));
        }
    }
    found.sort();
    let mut h = Sha256::new();
    h.update(builder_id.as_bytes());
    for e in NODE_ENV {
        h.update(e.as_bytes());
    }
    for (name, bytes) in &found {
        h.update(name.as_bytes());
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    }
    Ok(hex::encode(h.finalize())[..32].to_string())
}

/// The Dockerfile the peer builds its chaincode image from (Fabric 2.5
/// `platforms.Registry.GenerateDockerfile`).
pub fn dockerfile(runtime: &str, fabric_type: &str, version: &str) -> String {
    let dest = if fabric_type == "GOLANG" {
        "/usr/local/bin"
    } else {
        "/usr/local/src"
    };
    format!(
        "FROM {runtime}\nADD binpackage.tar {dest}\nLABEL org.hyperledger.fabric.chaincode.type=\"{fabric_type}\" \\\n      org.hyperledger.fabric.version=\"{version}\"\nENV CORE_CHAINCODE_BUILDLEVEL={version}"
    )
}

/// The `docker build` context: `Dockerfile` then `binpackage.tar`, mode
/// 0100644, as the peer streams it.
pub fn context_tar(dockerfile: &str, binpackage: &[u8]) -> std::io::Result<Vec<u8>> {
    context_files(dockerfile, "binpackage.tar", binpackage)
}

/// [`context_tar`] with the file `name`, as a build error.
fn context_with(dockerfile: &str, name: &str, data: &[u8]) -> Result<Vec<u8>, ImageBuildError> {
    context_files(dockerfile, name, data).map_err(|source| ImageBuildError::Context {
        file: name.to_string(),
        source,
    })
}

fn context_files(dockerfile: &str, file: &str, data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in [("Dockerfile", dockerfile.as_bytes()), (file, data)] {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o100644);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, name, data)?;
    }
    b.into_inner()
}

/// A warm build's result: the context every peer's daemon builds its
/// image from.
#[derive(Debug, Clone)]
pub struct BuiltImage {
    pub context: Vec<u8>,
    /// `binpackage.tar`'s size.
    pub output_bytes: usize,
    pub took: Duration,
    /// What the builder printed.
    pub log: String,
}

impl WarmBuilder {
    pub fn new(daemon: Daemon, images: BuildImages) -> WarmBuilder {
        WarmBuilder { daemon, images }
    }

    pub fn images(&self) -> &BuildImages {
        &self.images
    }

    /// Build the package's `binpackage.tar` as a peer would, warm, and the
    /// context each peer's daemon builds the image from.
    pub async fn build(&self, package: &[u8]) -> Result<BuiltImage, ImageBuildError> {
        let start = Instant::now();
        let parts = package_parts(package)?;
        let runtime = match parts.fabric_type.as_str() {
            "GOLANG" => &self.images.baseos,
            "NODE" => &self.images.nodeenv,
            other => return Err(ImageBuildError::Type(other.to_string())),
        };
        let id = self.builder_id(self.builder_of(&parts)?).await?;
        let out = self.run(&parts, &id).await?;
        let dockerfile = dockerfile(runtime, &parts.fabric_type, &self.images.peer_version);
        let context = context_with(&dockerfile, "binpackage.tar", &out.output)?;
        Ok(BuiltImage {
            context,
            output_bytes: out.output.len(),
            took: start.elapsed(),
            log: out.log,
        })
    }

    /// Whether this builder can build chaincode of Fabric's type
    /// `fabric_type` (`GOLANG`, `NODE`): its daemon answers and has the
    /// builder image. When it cannot, the peers build it themselves.
    pub async fn can_build(&self, fabric_type: &str) -> bool {
        let Some(builder) = self.images.builder_of_type(fabric_type) else {
            return false;
        };
        self.builder_id(builder).await.is_ok()
    }

    /// The builder image of the package's type.
    fn builder_of(&self, parts: &PackageParts) -> Result<&String, ImageBuildError> {
        self.images
            .builder_of_type(&parts.fabric_type)
            .ok_or_else(|| ImageBuildError::Type(parts.fabric_type.clone()))
    }

    /// The ID of `builder` on the host's daemon.
    async fn builder_id(&self, builder: &str) -> Result<String, ImageBuildError> {
        self.daemon
            .image_id(builder)
            .await
            .map_err(|source| ImageBuildError::Lookup {
                image: builder.to_string(),
                daemon: self.daemon.label().to_string(),
                source: Box::new(source),
            })?
            .ok_or_else(|| ImageBuildError::NoImage {
                image: builder.to_string(),
                daemon: self.daemon.label().to_string(),
            })
    }

    /// Run the peer's build script of the package in its builder image
    /// (`id`), with the cache volume of that image.
    async fn run(
        &self,
        parts: &PackageParts,
        id: &str,
    ) -> Result<cluster::builder::BuilderOutput, ImageBuildError> {
        let builder = self.builder_of(parts)?;
        let short = id.trim_start_matches("sha256:");
        let volume = format!("fabdev-chaincode-cache-{}", &short[..short.len().min(16)]);
        let (script, env) = match parts.fabric_type.as_str() {
            "GOLANG" => (go_script(&parts.path), go_env()),
            _ => (
                node_script(&node_key(&parts.code, id)?),
                NODE_ENV.iter().map(|e| (*e).to_string()).collect(),
            ),
        };
        Ok(run_builder(
            &self.daemon,
            &BuilderRun {
                image: builder,
                script: &script,
                env: &env,
                cache_volume: Some(&volume),
                input: &parts.code,
            },
            BUILD_TIMEOUT,
        )
        .await?)
    }
}

/// Copy the builder `image` from `from` (the engine the images were pulled
/// into) into the daemons of `peers` (`targets`, in the same order) that
/// lack it, one export for all of them, with byte progress as
/// [`LifecycleEvent::SeedProgress`]: what a [`PeerImages::seed_builder`]
/// does. Returns the peers that got it now.
pub async fn seed_daemons<T: cluster::images::ImageTarget>(
    from: &Daemon,
    peers: &[String],
    targets: &[&T],
    image: &str,
    on_event: &mut (dyn FnMut(LifecycleEvent) + Send),
) -> Result<Seeded, PeerImageError> {
    use cluster::images::ImageEvent;
    let mut progress = |ev: ImageEvent| {
        if let ImageEvent::Transferring {
            image,
            bytes_done,
            bytes_expected,
            ..
        } = ev
        {
            on_event(LifecycleEvent::SeedProgress {
                image,
                bytes_done,
                bytes_expected,
            });
        }
    };
    let reports =
        cluster::images::transfer_to_many(from, targets, &[image.to_string()], &mut progress)
            .await
            .map_err(|e| PeerImageError::seed(image, peers, e))?;
    Ok(peers
        .iter()
        .zip(&reports)
        .filter(|(_, r)| !r.transferred.is_empty())
        .map(|(p, _)| p.clone())
        .collect())
}

/// The peers among `peers` whose daemon lacks `image` (none when the
/// network does not seed its daemons: see [`PeerImages::builder_images`]).
pub(crate) async fn lacking(
    images: &dyn PeerImages,
    peers: &[&PeerClient],
    image: &str,
) -> Vec<String> {
    if images.builder_images().is_none() {
        return Vec::new();
    }
    let have = futures_join_all(
        peers
            .iter()
            .map(|c| images.has_image(c.node(), image))
            .collect(),
    )
    .await;
    peers
        .iter()
        .zip(have)
        .filter(|(_, have)| !have)
        .map(|(c, _)| c.node().to_string())
        .collect()
}

/// Copy `image`, what the chaincode runs on, into the daemons of `peers`
/// (see [`lacking`]) before anything is built there, announced and timed:
/// a daemon gets a language's runtime on the first deploy that needs it.
pub(crate) async fn seed_runtime(
    images: &dyn PeerImages,
    image: &str,
    peers: Vec<String>,
    on_event: &mut (dyn FnMut(LifecycleEvent) + Send),
) -> Result<(), PeerImageError> {
    if peers.is_empty() {
        return Ok(());
    }
    let start = Instant::now();
    on_event(LifecycleEvent::SeedingRuntime {
        image: image.to_string(),
        peers: peers.clone(),
    });
    let copied = images.seed_builder(&peers, image, &mut *on_event).await?;
    on_event(LifecycleEvent::RuntimeSeeded {
        image: image.to_string(),
        copied,
        took: start.elapsed(),
    });
    Ok(())
}

/// An [`LifecycleEvent::ImagePlaced`] for each of the `missing` peers whose
/// image was made in its daemon (`placed`: how long it took, in the same
/// order).
pub(crate) fn report_placed(
    missing: &[&PeerClient],
    placed: &[Option<Duration>],
    on_event: &mut (dyn FnMut(LifecycleEvent) + Send),
) {
    for (c, took) in missing.iter().zip(placed) {
        if let Some(took) = took {
            on_event(LifecycleEvent::ImagePlaced {
                peer: c.node().to_string(),
                took: *took,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dockerfile_is_the_peers() {
        assert_eq!(
            dockerfile("hyperledger/fabric-baseos:2.5", "GOLANG", "2.5.14"),
            "FROM hyperledger/fabric-baseos:2.5\nADD binpackage.tar /usr/local/bin\n\
             LABEL org.hyperledger.fabric.chaincode.type=\"GOLANG\" \\\n      \
             org.hyperledger.fabric.version=\"2.5.14\"\nENV CORE_CHAINCODE_BUILDLEVEL=2.5.14"
        );
        assert!(dockerfile("n", "NODE", "3.1.5").contains("ADD binpackage.tar /usr/local/src"));
    }

    #[test]
    fn scripts_name_the_package_and_keep_the_peers_steps() {
        let s = go_script("example.com/cc");
        assert!(s.contains("-mod=vendor -ldflags \"-linkmode external -extldflags '-static'\" -o /chaincode/output/chaincode example.com/cc"));
        let n = node_script("abc");
        assert!(n.contains("/tmp/fabdev-node/abc") && n.contains(NODE_SCRIPT));
        // No install script runs: not in fabdev's own steps, nor (through
        // npm's environment) in a builder image's build.sh.
        assert!(!NODE_SCRIPT.contains("npm install --production"));
        for npm in NODE_SCRIPT.lines().filter(|l| l.contains("npm ")) {
            assert!(npm.contains("--ignore-scripts"), "{npm}");
        }
        assert!(NODE_SCRIPT.contains("npm ci --omit=dev --ignore-scripts"));
        assert_eq!(NODE_ENV, ["npm_config_ignore_scripts=true"]);
    }

    #[test]
    fn packages_are_read_and_node_keys_follow_the_dependencies() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("package.json"),
            r#"{"scripts":{"start":"x"},"dependencies":{"a":"1"}}"#,
        )
        .expect("write");
        std::fs::write(dir.path().join("index.js"), "1").expect("write");
        let opts = crate::package::PackageOptions {
            label: Some("k_1".into()),
            lang: None,
        };
        let pkg = crate::package::package_dir(dir.path(), &opts).expect("package");
        let parts = package_parts(&pkg.bytes).expect("parts");
        assert_eq!(parts.fabric_type, "NODE");
        let key = node_key(&parts.code, "sha256:1").expect("key");
        // The code changes, the key does not.
        std::fs::write(dir.path().join("index.js"), "2").expect("write");
        let pkg2 = crate::package::package_dir(dir.path(), &opts).expect("package");
        let code2 = package_parts(&pkg2.bytes).expect("parts").code;
        assert_ne!(parts.code, code2);
        assert_eq!(node_key(&code2, "sha256:1").expect("key"), key);
        // The dependencies or the builder change, so does the key.
        assert_ne!(node_key(&code2, "sha256:2").expect("key"), key);
        std::fs::write(
            dir.path().join("package.json"),
            r#"{"scripts":{"start":"x"},"dependencies":{"a":"2"}}"#,
        )
        .expect("write");
        let pkg3 = crate::package::package_dir(dir.path(), &opts).expect("package");
        let code3 = package_parts(&pkg3.bytes).expect("parts").code;
        assert_ne!(node_key(&code3, "sha256:1").expect("key"), key);
        assert!(package_parts(b"not a package").is_err());
    }

    #[test]
    fn the_context_holds_the_dockerfile_then_the_output() {
        let ctx = context_tar("FROM x", b"tar bytes").expect("context");
        let mut a = tar::Archive::new(ctx.as_slice());
        let names: Vec<String> = a
            .entries()
            .expect("entries")
            .map(|e| {
                e.expect("entry")
                    .path()
                    .expect("path")
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(names, ["Dockerfile", "binpackage.tar"]);
    }
}
