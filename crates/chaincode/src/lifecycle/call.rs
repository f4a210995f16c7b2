//! Invoke and query: a transaction or a query as an org's user, through
//! its first peer's Gateway.

use std::collections::BTreeMap;
use std::time::Duration;

use network::channel::{ChannelError, Endpoints};
use network::pki::CryptoDir;
use network::{Node, Topology, Workspace};

use super::{CALL_TIMEOUT, LifecycleError, connect};

/// Who sends a transaction: an org's user (default Org1's User1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub org: String,
    pub user: String,
}

/// The peer a caller talks to: its org's first peer. An org that is not in
/// the workspace is [`LifecycleError::UnknownOrg`], naming the known ones.
pub fn caller_peer<'a>(
    ws: &'a Workspace,
    topo: &'a Topology,
    caller: &Caller,
) -> Result<&'a Node, LifecycleError> {
    let org = ws
        .orgs
        .iter()
        .find(|o| o.name.eq_ignore_ascii_case(&caller.org))
        .ok_or_else(|| LifecycleError::UnknownOrg {
            org: caller.org.clone(),
            known: ws
                .orgs
                .iter()
                .map(|o| o.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })?;
    topo.peers_of(&org.name)
        .next()
        .ok_or_else(|| LifecycleError::NoPeer {
            org: org.name.clone(),
            channel: String::new(),
        })
}

/// Submit a transaction (endorse, order, wait for commit) as `caller`.
#[allow(clippy::too_many_arguments)]
pub async fn invoke(
    ws: &Workspace,
    topo: &Topology,
    crypto: &CryptoDir,
    endpoints: &Endpoints,
    caller: &Caller,
    channel: &str,
    name: &str,
    function: &str,
    args: &[String],
    transient: &BTreeMap<String, Vec<u8>>,
) -> Result<network::channel::Submitted, LifecycleError> {
    let peer = caller_peer(ws, topo, caller)?;
    // A user the org does not have: bad input naming the ones it has.
    network::pki::identity::check_user(ws, crypto, &peer.org, &caller.user)?;
    let c = connect(peer, endpoints, crypto, &caller.user).await?;
    let args: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
    Ok(while_endorsers_unknown(|| {
        c.submit(channel, name, function, &args, transient, CALL_TIMEOUT)
    })
    .await?)
}

/// Runs `submit` until the Gateway's discovery knows peers that satisfy
/// the chaincode's endorsement policy, for at most [`DISCOVERY_TIMEOUT`]:
/// right after a commit it may not know yet that the other orgs' peers run
/// the chaincode (gossip spreads it within seconds), and nothing was
/// submitted then, so asking again is safe. Any other answer is returned
/// as it is.
pub(super) async fn while_endorsers_unknown<T, F, Fut>(mut submit: F) -> Result<T, ChannelError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ChannelError>>,
{
    let deadline = std::time::Instant::now() + DISCOVERY_TIMEOUT;
    loop {
        match submit().await {
            Err(e) if endorsers_not_known_yet(&e) && std::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            r => return r,
        }
    }
}

/// How long `invoke` waits for the Gateway's discovery to know peers that
/// satisfy the endorsement policy.
pub const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(30);

/// The Gateway's answer when its discovery knows no set of peers that
/// satisfies the chaincode's endorsement policy (yet): the proposal was not
/// endorsed, so nothing reached the orderer.
pub fn endorsers_not_known_yet(e: &ChannelError) -> bool {
    matches!(e, ChannelError::PeerRejected { message, .. }
        if message.contains("no combination of peers can be derived")
            || message.contains("no peer combination can satisfy"))
}

/// Evaluate a transaction function (a query) as `caller`.
#[allow(clippy::too_many_arguments)]
pub async fn query(
    ws: &Workspace,
    topo: &Topology,
    crypto: &CryptoDir,
    endpoints: &Endpoints,
    caller: &Caller,
    channel: &str,
    name: &str,
    function: &str,
    args: &[String],
) -> Result<Vec<u8>, LifecycleError> {
    let peer = caller_peer(ws, topo, caller)?;
    // A user the org does not have: bad input naming the ones it has.
    network::pki::identity::check_user(ws, crypto, &peer.org, &caller.user)?;
    let c = connect(peer, endpoints, crypto, &caller.user).await?;
    let args: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
    Ok(c.evaluate(channel, name, function, &args, CALL_TIMEOUT)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_unsatisfied_endorsement_plan_is_asked_again() {
        let rejected = |message: &str| ChannelError::PeerRejected {
            node: "peer0-org1".into(),
            address: "127.0.0.1:1".into(),
            action: "basic F on mychannel".into(),
            status: 500,
            message: message.into(),
        };
        // Seen from a Fabric 3.1.5 Gateway right after a commit.
        assert!(endorsers_not_known_yet(&rejected(
            "no combination of peers can be derived which satisfy the endorsement policy: no peer combination can satisfy the endorsement policy"
        )));
        assert!(!endorsers_not_known_yet(&rejected(
            "chaincode response 500, asset nope does not exist"
        )));
    }
}
