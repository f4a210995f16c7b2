//! A pod's containers as processes: what each one runs (`launch`), the
//! DinD daemon's socket, and stopping them in the kubelet's order.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use network::render::containers;

use crate::pod::{self, ContainerPlan, Pod};
use crate::{FabricHome, TestnetError, proc};

/// The pods' `/etc/resolv.conf`: a name server on the pod's loopback,
/// where nothing listens, so a lookup of a name that is not in the hosts
/// file fails at once, as a cluster's DNS answers it. With the host's file,
/// the host's name server cannot be reached from the pods' network (the
/// host forwards nothing out of the test bridge), and each such lookup
/// waits for its timeouts: 10 s (5 s, twice) for every Go chaincode's start
/// in its peer's DinD, which shares the pod's network and this file.
pub(crate) const RESOLV_CONF: &str = "nameserver 127.0.0.1\n";

/// Where the network keeps [`RESOLV_CONF`]: next to its hosts file.
pub(crate) fn resolv_conf(hosts: &Path) -> PathBuf {
    hosts.with_file_name("resolv.conf")
}

pub(crate) fn stop_pod(pod: &mut Pod) {
    // Main containers first, then the sidecars (the kubelet's order).
    let mut names: Vec<String> = pod.procs.keys().cloned().collect();
    names.sort_by_key(|n| pod.plan.container(n).is_some_and(|c| c.sidecar));
    for name in names {
        if let Some(mut child) = pod.procs.remove(&name) {
            let grace = if name == containers::DIND {
                // dockerd stops its containers before it exits.
                Duration::from_secs(20)
            } else {
                Duration::from_secs(5)
            };
            proc::stop(&mut child, grace);
        }
    }
    crate::couchdb::kill_leftovers(&pod.netns);
}

pub(crate) fn launch(
    pod: &Pod,
    c: &ContainerPlan,
    fabric: &FabricHome,
    hosts: &Path,
) -> Result<proc::Launch, TestnetError> {
    let unsupported = |problem: String| TestnetError::Unsupported {
        pod: pod.plan.node.clone(),
        problem,
    };
    let mut env = c.env.clone();
    let mut binds: Vec<(PathBuf, String, bool)> = c
        .mounts
        .iter()
        .map(|(vol, path, ro)| (pod::volume_dir(&pod.dir, vol), path.clone(), *ro))
        .collect();
    binds.push((hosts.to_path_buf(), "/etc/hosts".to_string(), true));
    binds.push((resolv_conf(hosts), "/etc/resolv.conf".to_string(), true));
    let (program, args) = match c.name.as_str() {
        containers::DIND => {
            let mut args = c.args.clone();
            if args.first().map(String::as_str) != Some("dockerd") {
                return Err(unsupported(format!(
                    "the {} container's first argument is not `dockerd`",
                    c.name
                )));
            }
            args.remove(0);
            (PathBuf::from("dockerd"), args)
        }
        containers::PEER | containers::ORDERER => {
            binds.push((fabric.config(), "/etc/hyperledger/fabric".to_string(), true));
            env.push((
                "FABRIC_CFG_PATH".to_string(),
                "/etc/hyperledger/fabric".to_string(),
            ));
            if c.name == containers::PEER {
                (
                    fabric.bin("peer"),
                    vec!["node".to_string(), "start".to_string()],
                )
            } else {
                (fabric.bin("orderer"), vec![])
            }
        }
        containers::COUCHDB => {
            // The image's files are the pod's copy of the release: its
            // mounts go there, and HOME is the couchdb user's, as the
            // image's entrypoint sets it.
            let home = crate::couchdb::release_dir(pod);
            for (_, inside, _) in binds.iter_mut() {
                *inside = crate::couchdb::in_release(pod, inside);
            }
            env.push(("HOME".to_string(), home.display().to_string()));
            crate::couchdb::entrypoint(&home, &env)?;
            (home.join("bin/couchdb"), c.args.clone())
        }
        other => return Err(unsupported(format!("no program for container {other}"))),
    };
    Ok(proc::Launch {
        netns: pod.netns.clone(),
        program,
        args,
        env,
        binds,
        dir: pod.dir.join(&c.name),
        log: pod.log(&c.name),
    })
}

/// Where a peer's DinD socket is on the host: in the folder of the volume
/// that the pod mounts at [`network::render::DIND_SOCKET_DIR`] (the
/// socket's path inside the pod is [`network::render::DIND_SOCKET`]).
pub(crate) fn dind_socket_of(pod: &Pod) -> Result<PathBuf, TestnetError> {
    let inside = network::render::DIND_SOCKET
        .strip_prefix("unix://")
        .unwrap_or(network::render::DIND_SOCKET);
    let file = Path::new(inside)
        .strip_prefix(network::render::DIND_SOCKET_DIR)
        .ok();
    pod.plan
        .container(containers::DIND)
        .and_then(|c| {
            c.mounts
                .iter()
                .find(|(_, path, _)| path == network::render::DIND_SOCKET_DIR)
        })
        .zip(file)
        .map(|((vol, _, _), file)| pod::volume_dir(&pod.dir, vol).join(file))
        .ok_or_else(|| TestnetError::Unsupported {
            pod: pod.plan.node.clone(),
            problem: format!(
                "no volume of the dind container at {}",
                network::render::DIND_SOCKET_DIR
            ),
        })
}

/// Wait for a daemon's socket to appear (dockerd is up before the peer
/// starts, as the sidecar's startup probe ensures on Kubernetes).
pub(crate) fn wait_socket(pod: &mut Pod, socket: &Path) -> Result<(), TestnetError> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !socket.exists() {
        if let Some(child) = pod.procs.get_mut(containers::DIND)
            && let Ok(Some(status)) = child.try_wait()
        {
            return Err(TestnetError::Exited {
                node: pod.plan.node.clone(),
                container: containers::DIND.to_string(),
                status: status.to_string(),
                logs: proc::tail(&pod.log(containers::DIND), 40),
            });
        }
        if Instant::now() >= deadline {
            return Err(TestnetError::NotReady {
                node: pod.plan.node.clone(),
                waited: Duration::from_secs(30),
                last: format!(
                    "the DinD daemon's socket {} did not appear",
                    socket.display()
                ),
                logs: proc::tail(&pod.log(containers::DIND), 40),
            });
        }
        std::thread::park_timeout(Duration::from_millis(50));
    }
    Ok(())
}
