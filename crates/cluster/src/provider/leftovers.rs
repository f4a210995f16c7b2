//! What kind and podman leave behind on the host after the last kind
//! cluster is gone: the `kind` network and the chains podman's CNI plugins
//! write into the host's iptables tables.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::ProviderError;
use crate::images::Daemon;

/// The network kind puts its nodes on.
pub const KIND_NETWORK: &str = "kind";

/// What [`remove_podman_leftovers`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Leftovers {
    /// The `kind` network (no container was on it any more).
    pub network: bool,
    /// The chains podman's CNI plugins leave in the host's netfilter
    /// tables (`iptables-save` table and chain).
    pub chains: Vec<String>,
}

impl fmt::Display for Leftovers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if self.network {
            parts.push(format!("network {KIND_NETWORK} removed"));
        }
        if !self.chains.is_empty() {
            // "iptables-save: nat CNI-HOSTPORT-DNAT" → CNI-HOSTPORT-DNAT,
            // once for IPv4 and IPv6.
            let names: std::collections::BTreeSet<&str> = self
                .chains
                .iter()
                .filter_map(|c| c.rsplit(' ').next())
                .collect();
            parts.push(format!(
                "podman's CNI chains removed ({})",
                names.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
        if parts.is_empty() {
            f.write_str("nothing left behind")
        } else {
            f.write_str(&parts.join("; "))
        }
    }
}

/// After the last kind cluster on podman is deleted: removes the `kind`
/// network when no container is on it, and, when podman has no container
/// at all, the chains its CNI plugins (firewall, portmap) leave in the
/// host's iptables tables for good (`CNI-FORWARD` jumped to from FORWARD,
/// `CNI-HOSTPORT-*` from the nat table's hooks). podman (4.x with CNI)
/// removes neither itself; the chains sit beside the host's Docker rules.
pub async fn remove_podman_leftovers(api: &Daemon) -> Result<Leftovers, ProviderError> {
    use bollard::query_parameters::ListContainersOptions;
    let docker = api.docker("remove kind's network").await?;
    let api_err = |action: &str| {
        let daemon = api.label().to_string();
        let action = action.to_string();
        move |source| ProviderError::Api {
            action,
            daemon,
            source: Box::new(source),
        }
    };
    let mut out = Leftovers::default();
    match docker
        .inspect_network(
            KIND_NETWORK,
            None::<bollard::query_parameters::InspectNetworkOptions>,
        )
        .await
    {
        Ok(n) if n.containers.as_ref().is_none_or(|c| c.is_empty()) => {
            docker
                .remove_network(KIND_NETWORK)
                .await
                .map_err(api_err("remove network kind"))?;
            out.network = true;
        }
        Ok(_) => {}
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => {}
        Err(e) => return Err(api_err("inspect network kind")(e)),
    }
    let all = docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            ..Default::default()
        }))
        .await
        .map_err(api_err("list containers"))?;
    if all.is_empty() {
        out.chains = remove_cni_chains().await?;
    }
    Ok(out)
}

/// Whether kind names a node container of cluster `cluster` so:
/// `<cluster>-control-plane` and `<cluster>-worker`, each also numbered
/// (`-worker2`), and `<cluster>-external-load-balancer`.
pub fn is_kind_node_of(cluster: &str, name: &str) -> bool {
    let Some(role) = name.strip_prefix(cluster).and_then(|r| r.strip_prefix('-')) else {
        return false;
    };
    if role == "external-load-balancer" {
        return true;
    }
    ["control-plane", "worker"].iter().any(|r| {
        role.strip_prefix(r)
            .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
    })
}

/// The containers of cluster `cluster`'s node names that podman has only in
/// its storage: listed by `podman ps -a --external` (`external`) and not by
/// `podman ps -a` (`podman`), both as `ID NAME` lines.
pub fn storage_only_nodes(cluster: &str, external: &str, podman: &str) -> Vec<(String, String)> {
    let ids: std::collections::BTreeSet<&str> = podman
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    external
        .lines()
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            Some((parts.next()?, parts.next()?))
        })
        .filter(|(id, name)| !ids.contains(id) && is_kind_node_of(cluster, name))
        .map(|(id, name)| (id.to_string(), name.to_string()))
        .collect()
}

/// Removes the containers podman holds only in its storage under the names
/// of cluster `cluster`'s nodes, and returns their names. A `kind create`
/// killed while podman made a node (SIGKILL, a CI timeout) leaves such a
/// container: `podman ps` does not show it, kind does not see it, and it
/// holds the node's name (and with it the `kind` network), so the next
/// `kind create` of that cluster fails. Nothing else is touched; without
/// the podman CLI there is nothing to do.
pub async fn remove_storage_only_nodes(cluster: &str) -> Result<Vec<String>, ProviderError> {
    let list = |external: bool| async move {
        let mut args = vec!["ps", "-a", "--format", "{{.ID}} {{.Names}}"];
        if external {
            args.push("--external");
        }
        let command = format!("podman {}", args.join(" "));
        match podman(&args).await {
            Ok(out) => Ok(Some(out)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ProviderError::StorageContainers {
                command,
                output: e.to_string(),
            }),
        }
    };
    let (Some(external), Some(podman_ps)) = (list(true).await?, list(false).await?) else {
        return Ok(Vec::new());
    };
    let mut removed = Vec::new();
    for (id, name) in storage_only_nodes(cluster, &external, &podman_ps) {
        // podman 4 removes a storage-only container with `rm --storage`;
        // newer ones with a plain `rm --force`.
        let mut last = String::new();
        let mut done = false;
        for args in [
            ["rm", "--storage", id.as_str()],
            ["rm", "--force", id.as_str()],
        ] {
            match podman(&args).await {
                Ok(_) => {
                    done = true;
                    break;
                }
                Err(e) => last = format!("`podman {}`: {e}", args.join(" ")),
            }
        }
        if !done {
            return Err(ProviderError::StorageContainers {
                command: format!("podman rm --storage {id} ({name})"),
                output: last,
            });
        }
        removed.push(name);
    }
    Ok(removed)
}

/// Runs podman; its stdout, or its stderr as the error.
async fn podman(args: &[&str]) -> std::io::Result<String> {
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        tokio::process::Command::new("podman").args(args).output(),
    )
    .await
    .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer within 60s"))??;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(std::io::Error::other(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ))
    }
}

/// The iptables-restore input that removes CNI's chains from one table
/// (as `iptables-save` printed it): the rules of built-in chains that jump
/// to them, then the chains. Empty when there are none.
pub fn cni_chain_removal(save: &str) -> (String, Vec<String>) {
    let mut table = String::new();
    // Per table: the jumps from built-in chains, the flushes, the deletes
    // (in that order: a chain can only go once nothing jumps to it).
    let mut script: BTreeMap<String, [Vec<String>; 3]> = BTreeMap::new();
    let mut removed = Vec::new();
    for line in save.lines() {
        if let Some(t) = line.strip_prefix('*') {
            table = t.to_string();
        } else if let Some(c) = line.strip_prefix(':') {
            let name = c.split_whitespace().next().unwrap_or_default();
            if name.starts_with("CNI-") {
                let e = script.entry(table.clone()).or_default();
                e[1].push(format!("-F {name}"));
                e[2].push(format!("-X {name}"));
                removed.push(format!("{table} {name}"));
            }
        } else if let Some(rule) = line.strip_prefix("-A ") {
            let chain = rule.split_whitespace().next().unwrap_or_default();
            if !chain.starts_with("CNI-") && rule.contains(" -j CNI-") {
                script.entry(table.clone()).or_default()[0].push(format!("-D {rule}"));
            }
        }
    }
    let mut text = String::new();
    for (table, [jumps, flushes, deletes]) in &script {
        text.push_str(&format!("*{table}\n"));
        for l in jumps.iter().chain(flushes).chain(deletes) {
            text.push_str(l);
            text.push('\n');
        }
        text.push_str("COMMIT\n");
    }
    (text, removed)
}

async fn remove_cni_chains() -> Result<Vec<String>, ProviderError> {
    use tokio::io::AsyncWriteExt;
    let mut removed = Vec::new();
    for (save, restore) in [
        ("iptables-save", "iptables-restore"),
        ("ip6tables-save", "ip6tables-restore"),
    ] {
        let Ok(out) = tokio::process::Command::new(save).output().await else {
            continue;
        };
        if !out.status.success() {
            continue;
        }
        let (script, chains) = cni_chain_removal(&String::from_utf8_lossy(&out.stdout));
        if script.is_empty() {
            continue;
        }
        let command = format!("{restore} --noflush");
        let fail = |output: String| ProviderError::Chains {
            command: command.clone(),
            output,
        };
        let mut child = tokio::process::Command::new(restore)
            .arg("--noflush")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| fail(e.to_string()))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(script.as_bytes())
                .await
                .map_err(|e| fail(e.to_string()))?;
        }
        let done = child
            .wait_with_output()
            .await
            .map_err(|e| fail(e.to_string()))?;
        if !done.status.success() {
            return Err(fail(format!(
                "{}\n{script}",
                String::from_utf8_lossy(&done.stderr).trim()
            )));
        }
        removed.extend(chains.into_iter().map(|c| format!("{save}: {c}")));
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cni_chains_and_the_jumps_to_them_are_removed_and_nothing_else() {
        let save = "# Generated by iptables-save\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:CNI-ADMIN - [0:0]\n:CNI-FORWARD - [0:0]\n:DOCKER-USER - [0:0]\n-A FORWARD -m comment --comment \"CNI firewall plugin rules\" -j CNI-FORWARD\n-A FORWARD -j DOCKER-USER\n-A CNI-FORWARD -m comment --comment \"CNI firewall plugin admin overrides\" -j CNI-ADMIN\nCOMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\n:CNI-HOSTPORT-DNAT - [0:0]\n-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT\n-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER\nCOMMIT\n";
        let (script, removed) = cni_chain_removal(save);
        assert_eq!(
            script,
            "*filter\n-D FORWARD -m comment --comment \"CNI firewall plugin rules\" -j CNI-FORWARD\n-F CNI-ADMIN\n-F CNI-FORWARD\n-X CNI-ADMIN\n-X CNI-FORWARD\nCOMMIT\n*nat\n-D PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT\n-F CNI-HOSTPORT-DNAT\n-X CNI-HOSTPORT-DNAT\nCOMMIT\n"
        );
        assert_eq!(
            removed,
            [
                "filter CNI-ADMIN",
                "filter CNI-FORWARD",
                "nat CNI-HOSTPORT-DNAT"
            ]
        );
        assert_eq!(
            cni_chain_removal("*filter\n:FORWARD DROP [0:0]\nCOMMIT\n").0,
            ""
        );
        assert_eq!(
            Leftovers {
                network: true,
                chains: vec!["filter CNI-ADMIN".into()]
            }
            .to_string(),
            "network kind removed; podman's CNI chains removed (CNI-ADMIN)"
        );
    }

    #[test]
    fn only_storage_only_containers_of_this_clusters_nodes_are_chosen() {
        for name in [
            "dev-control-plane",
            "dev-control-plane2",
            "dev-worker",
            "dev-worker12",
            "dev-external-load-balancer",
        ] {
            assert!(is_kind_node_of("dev", name), "{name}");
        }
        for name in [
            "dev",
            "dev-",
            "dev-control-planex",
            "dev-workers",
            "dev2-worker",
            "devx-control-plane",
            "other-worker",
            "dev-registry",
        ] {
            assert!(!is_kind_node_of("dev", name), "{name}");
        }
        let external = "aaa dev-control-plane\nbbb dev-worker\nccc other-control-plane\nddd dev-worker2\neee build-container\n";
        let podman = "bbb dev-worker\n";
        assert_eq!(
            storage_only_nodes("dev", external, podman),
            [
                ("aaa".to_string(), "dev-control-plane".to_string()),
                ("ddd".to_string(), "dev-worker2".to_string())
            ]
        );
        assert!(storage_only_nodes("dev", "", "").is_empty());
    }
}
