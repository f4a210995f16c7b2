//! A chaincode builder container, run the way a Fabric peer's Docker
//! builder runs it (Fabric's `core/chaincode/platforms/util.DockerBuild`):
//! a container of the builder image runs `/bin/sh -c <script>` with the
//! code package (`code.tar.gz`) unpacked at `/chaincode/input`, and what it
//! leaves in `/chaincode/output` is the build's result (the peer names it
//! `binpackage.tar` and `ADD`s it to the runtime image).
//!
//! What fabdev adds: a named volume mounted over the builder's `/tmp`, so
//! caches kept there (Go's build cache, installed `node_modules`) survive
//! from one build to the next. The volume starts as a copy of the image's
//! own `/tmp` (world-writable), so the builder's user can write to it
//! whoever it is.

use std::time::Duration;

use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, DownloadFromContainerOptionsBuilder, LogsOptionsBuilder,
    RemoveContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};
use futures_util::StreamExt;

use crate::images::Daemon;

/// Where the cache volume is mounted in the builder.
pub const CACHE_MOUNT: &str = "/tmp";

/// One build.
#[derive(Debug, Clone)]
pub struct BuilderRun<'a> {
    /// The builder image (`hyperledger/fabric-ccenv:2.5.14`).
    pub image: &'a str,
    /// The script `/bin/sh -c` runs.
    pub script: &'a str,
    /// `KEY=value` environment of the script.
    pub env: &'a [String],
    /// A named volume mounted at [`CACHE_MOUNT`], if any.
    pub cache_volume: Option<&'a str>,
    /// A tar (or gzip'd tar) unpacked at `/chaincode/input`.
    pub input: &'a [u8],
}

/// What a build made.
#[derive(Debug, Clone)]
pub struct BuilderOutput {
    /// The tar of `/chaincode/output/.`, as Docker's archive API gives it.
    pub output: Vec<u8>,
    /// What the script printed (stdout and stderr).
    pub log: String,
}

/// Errors of a builder run.
#[derive(Debug, thiserror::Error)]
pub enum BuilderError {
    /// The build script failed: the chaincode does not build.
    #[error("the build in {image} failed (exit code {code}):\n{log}")]
    Failed {
        image: String,
        code: i64,
        log: String,
    },
    /// Docker refused or failed a request.
    #[error("cannot {operation} on {daemon}")]
    Docker {
        operation: String,
        daemon: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The build took longer than allowed.
    #[error("the build in {image} on {daemon} did not finish within {}s", after.as_secs())]
    Timeout {
        image: String,
        daemon: String,
        after: Duration,
    },
}

impl BuilderError {
    /// Whether the chaincode itself failed to build (not Docker).
    pub fn is_build_failure(&self) -> bool {
        matches!(self, BuilderError::Failed { .. })
    }
}

/// Run one build on `daemon` (see the module docs), within `timeout`. The
/// container is removed afterwards, whatever happened.
pub async fn run_builder(
    daemon: &Daemon,
    run: &BuilderRun<'_>,
    timeout: Duration,
) -> Result<BuilderOutput, BuilderError> {
    let docker_err = |operation: &str| {
        let operation = operation.to_string();
        let daemon = daemon.label().to_string();
        move |e: bollard::errors::Error| BuilderError::Docker {
            operation,
            daemon,
            source: Box::new(e),
        }
    };
    let docker = daemon
        .docker("run a chaincode builder")
        .await
        .map_err(|e| BuilderError::Docker {
            operation: "connect".to_string(),
            daemon: daemon.label().to_string(),
            source: Box::new(e),
        })?;
    let config = ContainerCreateBody {
        image: Some(run.image.to_string()),
        cmd: Some(vec![
            "/bin/sh".to_string(),
            "-c".to_string(),
            run.script.to_string(),
        ]),
        env: Some(run.env.to_vec()),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        host_config: run.cache_volume.map(|v| HostConfig {
            binds: Some(vec![format!("{v}:{CACHE_MOUNT}")]),
            ..HostConfig::default()
        }),
        ..ContainerCreateBody::default()
    };
    let created = docker
        .create_container(Some(CreateContainerOptionsBuilder::new().build()), config)
        .await
        .map_err(docker_err(&format!("create a container of {}", run.image)))?;
    let id = created.id;
    let work = async {
        docker
            .upload_to_container(
                &id,
                Some(
                    UploadToContainerOptionsBuilder::new()
                        .path("/chaincode/input")
                        .build(),
                ),
                bollard::body_full(bytes::Bytes::copy_from_slice(run.input)),
            )
            .await
            .map_err(docker_err("upload the code package to the builder"))?;
        docker
            .start_container(&id, None)
            .await
            .map_err(docker_err("start the builder"))?;
        let code = match docker.wait_container(&id, None).next().await {
            Some(Ok(r)) => r.status_code,
            Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => code,
            Some(Err(e)) => return Err(docker_err("wait for the builder")(e)),
            None => 0,
        };
        let mut log = Vec::new();
        let mut logs = docker.logs(
            &id,
            Some(LogsOptionsBuilder::new().stdout(true).stderr(true).build()),
        );
        while let Some(chunk) = logs.next().await {
            match chunk {
                Ok(c) => log.extend_from_slice(&c.into_bytes()),
                Err(e) => return Err(docker_err("read the builder's output")(e)),
            }
        }
        let log = String::from_utf8_lossy(&log).into_owned();
        if code != 0 {
            return Err(BuilderError::Failed {
                image: run.image.to_string(),
                code,
                log,
            });
        }
        let mut output = Vec::new();
        let mut archive = docker.download_from_container(
            &id,
            Some(
                DownloadFromContainerOptionsBuilder::new()
                    .path("/chaincode/output/.")
                    .build(),
            ),
        );
        while let Some(chunk) = archive.next().await {
            let chunk = chunk.map_err(docker_err("download the builder's output"))?;
            output.extend_from_slice(&chunk);
        }
        Ok(BuilderOutput { output, log })
    };
    let result = match tokio::time::timeout(timeout, work).await {
        Ok(r) => r,
        Err(_) => Err(BuilderError::Timeout {
            image: run.image.to_string(),
            daemon: daemon.label().to_string(),
            after: timeout,
        }),
    };
    // Removed whatever happened; a failure to remove is not the build's.
    let _ = docker
        .remove_container(
            &id,
            Some(RemoveContainerOptionsBuilder::new().force(true).build()),
        )
        .await;
    result
}
