//! A channel's ordering service, ready before anything is submitted.
//!
//! A new channel's Raft consenters elect a leader only after an election
//! timeout (Fabric's default: 10 ticks of 500 ms, randomised up to twice
//! that), and an orderer that knows no leader refuses every transaction
//! (`SERVICE_UNAVAILABLE`, "no Raft leader"; the Gateway then answers "no
//! orderers could successfully process transaction"). So a channel that was
//! just created refuses its first approval for a few seconds. Two
//! defences:
//!
//! - [`wait_for_leader`], after a channel is created or joined: every
//!   orderer reports the channel `active` (channel participation API), and
//!   its Raft metrics on the operations endpoint
//!   (`consensus_etcdraft_is_leader` and `consensus_etcdraft_leader_changes`
//!   for the channel, `ORDERER_METRICS_PROVIDER=prometheus`) show a leader
//!   that every consenter has seen. Where no operations endpoint is known
//!   (port-forwards on an existing cluster) only the status is waited for.
//! - [`while_no_leader`], around a submission: a transaction the ordering
//!   service refused (nothing was ordered) is submitted again until the
//!   deadline, then reported as [`ChannelError::OrderingUnavailable`].

use std::time::Duration;

use fabric_sdk::operations::OperationsClientBuilder;

use super::{ChannelError, Endpoints, OrdererChannel, orderer_channel};
use crate::pki::CryptoDir;
use crate::spec::Workspace;
use crate::topology::{Node, Topology};

/// How long [`wait_for_leader`] waits by default.
pub const LEADER_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a submission the ordering service refuses is tried again.
pub const ORDERING_RETRY: Duration = Duration::from_secs(30);

/// How long a call with `timeout` tries a refused submission again: three
/// quarters of it (so that the refusal, not the call's timeout, is what is
/// reported), at most [`ORDERING_RETRY`].
pub fn window(timeout: Duration) -> Duration {
    (timeout * 3 / 4).min(ORDERING_RETRY)
}

/// Deadline of one status or metrics request while waiting.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// The pause between two looks (and two submissions).
const POLL: Duration = Duration::from_millis(100);

/// A channel's ordering service, ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderingReady {
    /// The Raft leader, by node name, when the metrics say.
    pub leader: Option<String>,
    /// How long it took to be ready.
    pub waited: Duration,
}

/// What to say of a ready ordering service: `ordering service ready
/// (Raft leader orderer1-ordererorg, after 2.3 s)`.
pub fn ready_detail(ready: &OrderingReady) -> String {
    let after = format!("{:.1} s", ready.waited.as_secs_f64());
    match &ready.leader {
        Some(leader) => format!("ordering service ready (Raft leader {leader}, after {after})"),
        None => format!("ordering service active on every orderer (after {after})"),
    }
}

/// One orderer's Raft metrics for a channel.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RaftMetrics {
    /// `consensus_etcdraft_is_leader{channel}`: present once the channel's
    /// chain runs.
    pub is_leader: Option<bool>,
    /// `consensus_etcdraft_leader_changes{channel}`: how many leader changes
    /// the orderer has seen (absent: none).
    pub leader_changes: f64,
}

/// The channel's Raft metrics in a Prometheus text exposition (`/metrics`).
pub fn raft_metrics(text: &str, channel: &str) -> RaftMetrics {
    let mut out = RaftMetrics::default();
    let label = format!("channel=\"{channel}\"");
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Some((name, labels)) = series.split_once('{') else {
            continue;
        };
        let labels = labels.trim_end_matches('}');
        if !labels.split(',').any(|l| l == label) {
            continue;
        }
        let Ok(value) = value.trim().parse::<f64>() else {
            continue;
        };
        match name {
            "consensus_etcdraft_is_leader" => out.is_leader = Some(value >= 1.0),
            "consensus_etcdraft_leader_changes" => out.leader_changes = value,
            _ => {}
        }
    }
    out
}

/// What one orderer reported in one look.
#[derive(Debug, Clone, PartialEq)]
struct Look {
    node: String,
    status: Result<Option<OrdererChannel>, String>,
    /// `None`: no operations endpoint known, or its metrics could not be read.
    metrics: Option<RaftMetrics>,
}

/// Whether the looks show a ready ordering service, and its leader.
fn ready(looks: &[Look]) -> Option<Option<String>> {
    let active = looks
        .iter()
        .all(|l| matches!(&l.status, Ok(Some(c)) if c.status == "active"));
    if !active {
        return None;
    }
    let with_gauge: Vec<(&str, RaftMetrics)> = looks
        .iter()
        .filter_map(|l| {
            l.metrics
                .filter(|m| m.is_leader.is_some())
                .map(|m| (l.node.as_str(), m))
        })
        .collect();
    // No orderer's metrics tell: the status is all there is to wait for
    // (a refused submission is tried again, see `while_no_leader`).
    if with_gauge.is_empty() {
        return Some(None);
    }
    let leader = with_gauge
        .iter()
        .find(|(_, m)| m.is_leader == Some(true))
        .map(|(n, _)| n.to_string())?;
    // Every consenter that tells has seen a leader.
    let all_seen = with_gauge
        .iter()
        .all(|(_, m)| m.is_leader == Some(true) || m.leader_changes >= 1.0);
    all_seen.then_some(Some(leader))
}

fn describe(looks: &[Look]) -> String {
    looks
        .iter()
        .map(|l| {
            let status = match &l.status {
                Ok(Some(c)) => format!("{} {}", c.status, c.consensus_relation),
                Ok(None) => "not a member of the channel".to_string(),
                Err(e) => e.clone(),
            };
            let raft = match l.metrics {
                None => String::new(),
                Some(RaftMetrics {
                    is_leader: Some(true),
                    ..
                }) => ", the leader".to_string(),
                Some(m) if m.is_leader.is_none() => ", no Raft chain in its metrics".to_string(),
                Some(m) if m.leader_changes >= 1.0 => ", a follower".to_string(),
                Some(_) => ", no leader seen".to_string(),
            };
            format!("{}: {status}{raft}", l.node)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Whether an error is one that waiting does not cure (a missing endpoint
/// or credential, a node that is not an orderer).
fn permanent(e: &ChannelError) -> bool {
    matches!(
        e,
        ChannelError::NoEndpoint { .. }
            | ChannelError::BadEndpoint { .. }
            | ChannelError::Crypto { .. }
            | ChannelError::WrongNode { .. }
            | ChannelError::NotAdmin { .. }
    )
}

async fn metrics_of(address: &str, channel: &str) -> Option<RaftMetrics> {
    let client = OperationsClientBuilder::new()
        .with_url(format!("http://{address}"))
        .and_then(|b| b.build())
        .ok()?;
    let text = tokio::time::timeout(PROBE_TIMEOUT, client.metrics_raw())
        .await
        .ok()?
        .ok()?;
    Some(raft_metrics(&text, channel))
}

async fn look(
    ws: &Workspace,
    node: &Node,
    crypto: &CryptoDir,
    endpoints: &Endpoints,
    channel: &str,
) -> Result<Look, ChannelError> {
    let Some(ep) = endpoints.get(&node.name) else {
        return Err(ChannelError::NoEndpoint {
            node: node.name.clone(),
            what: "channel participation (admin)",
        });
    };
    let status = match orderer_channel(node, ep, crypto, ws, channel, PROBE_TIMEOUT).await {
        Ok(s) => Ok(s),
        Err(e) if permanent(&e) => return Err(e),
        Err(e) => Err(e.to_string()),
    };
    let metrics = match endpoints.operations(&node.name) {
        Some(address) => metrics_of(address, channel).await,
        None => None,
    };
    Ok(Look {
        node: node.name.clone(),
        status,
        metrics,
    })
}

/// Wait until the orderers of `channel` are ready to order: every one
/// reports the channel active and, where their metrics tell, a Raft leader
/// that every consenter has seen. Past `timeout`:
/// [`ChannelError::NoLeader`], with what each orderer reported last.
pub async fn wait_for_leader(
    ws: &Workspace,
    topo: &Topology,
    crypto: &CryptoDir,
    endpoints: &Endpoints,
    channel: &str,
    timeout: Duration,
) -> Result<OrderingReady, ChannelError> {
    let start = tokio::time::Instant::now();
    let deadline = start + timeout;
    loop {
        let mut looks = Vec::new();
        for node in topo.orderers() {
            looks.push(look(ws, node, crypto, endpoints, channel).await?);
        }
        if let Some(leader) = ready(&looks) {
            return Ok(OrderingReady {
                leader,
                waited: start.elapsed(),
            });
        }
        if tokio::time::Instant::now() + POLL >= deadline {
            return Err(ChannelError::NoLeader {
                channel: channel.to_string(),
                after: timeout,
                state: describe(&looks),
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Whether the ordering service refused a submission, so that nothing was
/// ordered: the orderers' `SERVICE_UNAVAILABLE` ("no Raft leader"), which
/// the Gateway reports as "no orderers could successfully process
/// transaction" (it also does when it reaches no orderer).
pub fn refused_by_ordering(e: &ChannelError) -> bool {
    matches!(e, ChannelError::PeerRejected { message, .. }
        if message.contains("no orderers could successfully process transaction")
            || message.contains("no Raft leader")
            || message.contains("SERVICE_UNAVAILABLE"))
}

/// Run a submission (`submit`, which makes a new transaction each time),
/// again while the ordering service refuses it ([`refused_by_ordering`]),
/// for up to `within`; then [`ChannelError::OrderingUnavailable`] with the
/// last answer. Any other outcome is returned as it is.
pub async fn while_no_leader<T, F, Fut>(
    channel: &str,
    within: Duration,
    mut submit: F,
) -> Result<T, ChannelError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ChannelError>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match submit().await {
            Err(e) if refused_by_ordering(&e) => {
                if tokio::time::Instant::now() + POLL < deadline {
                    tokio::time::sleep(POLL).await;
                    continue;
                }
                let ChannelError::PeerRejected {
                    node,
                    action,
                    message,
                    ..
                } = e
                else {
                    return Err(e);
                };
                return Err(ChannelError::OrderingUnavailable {
                    node,
                    channel: channel.to_string(),
                    action,
                    after: within,
                    message,
                });
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines as a Fabric 2.5.14 orderer's `/metrics` prints them.
    const LEADER: &str = "# HELP consensus_etcdraft_is_leader The leadership status of the current node: 1 if it is the leader else 0.\n\
        # TYPE consensus_etcdraft_is_leader gauge\n\
        consensus_etcdraft_is_leader{channel=\"bilateral\"} 0\n\
        consensus_etcdraft_is_leader{channel=\"mychannel\"} 1\n\
        # TYPE consensus_etcdraft_leader_changes counter\n\
        consensus_etcdraft_leader_changes{channel=\"mychannel\"} 1\n";

    fn look(node: &str, status: &str, m: Option<RaftMetrics>) -> Look {
        Look {
            node: node.into(),
            status: Ok(Some(OrdererChannel {
                consensus_relation: "consenter".into(),
                status: status.into(),
                height: 1,
            })),
            metrics: m,
        }
    }

    #[test]
    fn metrics_of_one_channel() {
        let m = raft_metrics(LEADER, "mychannel");
        assert_eq!(
            m,
            RaftMetrics {
                is_leader: Some(true),
                leader_changes: 1.0
            }
        );
        let b = raft_metrics(LEADER, "bilateral");
        assert_eq!(
            b,
            RaftMetrics {
                is_leader: Some(false),
                leader_changes: 0.0
            }
        );
        assert_eq!(raft_metrics(LEADER, "other"), RaftMetrics::default());
        assert_eq!(
            raft_metrics("garbage {\n", "mychannel"),
            RaftMetrics::default()
        );
    }

    #[test]
    fn ready_once_a_leader_is_seen_by_all() {
        let leader = Some(RaftMetrics {
            is_leader: Some(true),
            leader_changes: 1.0,
        });
        let follower = Some(RaftMetrics {
            is_leader: Some(false),
            leader_changes: 1.0,
        });
        let none_yet = Some(RaftMetrics {
            is_leader: Some(false),
            leader_changes: 0.0,
        });
        // Just created: nobody leads.
        let looks = [
            look("o0", "active", none_yet),
            look("o1", "active", none_yet),
        ];
        assert_eq!(ready(&looks), None);
        assert!(describe(&looks).contains("o0: active consenter, no leader seen"));
        // A leader, but o1 has not heard of it yet.
        assert_eq!(
            ready(&[look("o0", "active", leader), look("o1", "active", none_yet)]),
            None
        );
        assert_eq!(
            ready(&[look("o0", "active", follower), look("o1", "active", leader)]),
            Some(Some("o1".into()))
        );
        // Not active everywhere yet.
        assert_eq!(
            ready(&[
                look("o0", "onboarding", follower),
                look("o1", "active", leader)
            ]),
            None
        );
        // Nothing tells of the leader: the status alone.
        assert_eq!(
            ready(&[look("o0", "active", None), look("o1", "active", None)]),
            Some(None)
        );
    }

    fn refused(message: &str) -> ChannelError {
        ChannelError::PeerRejected {
            node: "peer0-org1".into(),
            address: "127.0.0.1:1".into(),
            action: "approving probe sequence 1 on mychannel".into(),
            status: 500,
            message: message.into(),
        }
    }

    #[test]
    fn a_refusal_by_the_orderers_is_tried_again_then_named() {
        // What a 2.5.14 Gateway answered while the orderers had no leader.
        assert!(refused_by_ordering(&refused(
            "Submit error: no orderers could successfully process transaction"
        )));
        assert!(!refused_by_ordering(&refused(
            "chaincode response 500, asset nope does not exist"
        )));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        // Refused twice, then accepted.
        let mut tries = 0;
        let r = rt.block_on(while_no_leader("mychannel", Duration::from_secs(5), || {
            tries += 1;
            let n = tries;
            async move {
                if n < 3 {
                    Err(refused(
                        "no orderers could successfully process transaction",
                    ))
                } else {
                    Ok(n)
                }
            }
        }));
        assert_eq!(r.expect("accepted"), 3);
        // Refused until the deadline: named as the ordering service's.
        let e = rt
            .block_on(while_no_leader(
                "mychannel",
                Duration::from_millis(250),
                || async {
                    Err::<(), _>(refused(
                        "no orderers could successfully process transaction",
                    ))
                },
            ))
            .expect_err("refused");
        assert!(matches!(e, ChannelError::OrderingUnavailable { .. }), "{e}");
        let text = e.to_string();
        assert!(
            text.contains("ordering service of channel mychannel did not accept")
                && text.contains("250ms"),
            "{text}"
        );
        // Any other failure is not tried again.
        let mut calls = 0;
        let e = rt
            .block_on(while_no_leader("mychannel", Duration::from_secs(5), || {
                calls += 1;
                async { Err::<(), _>(refused("endorsement failure")) }
            }))
            .expect_err("failed");
        assert!(matches!(e, ChannelError::PeerRejected { .. }));
        assert_eq!(calls, 1);
    }
}
