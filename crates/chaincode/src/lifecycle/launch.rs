//! The first call after a deploy, made by fabdev: one query to every peer
//! of the channel at once, through each peer's own Gateway, so that each
//! peer launches the new chaincode now (a peer starts a chaincode's
//! container on its first call) and the user's first call finds it
//! running.

use std::time::{Duration, Instant};

use network::channel::ChannelError;

use super::{CALL_TIMEOUT, ChannelAdmins};
use crate::join::futures_join_all;

/// The function the launch query calls: the contract API's metadata
/// (fabric-contract-api for Node and Go answers it; a plain shim chaincode
/// answers with its own error for an unknown function, which says as much:
/// it runs). A query: nothing is written.
pub const LAUNCH_FUNCTION: &str = "org.hyperledger.fabric:GetMetadata";

/// One peer's answer to the launch query.
#[derive(Debug)]
pub struct Launch {
    pub peer: String,
    /// From the query's start to the peer's answer.
    pub took: Duration,
    /// `Ok`: the chaincode runs on the peer (it answered, perhaps with its
    /// own error); `Err`: the peer could not start it, or did not answer.
    pub result: Result<(), ChannelError>,
}

/// Whether an answer to the launch query says the chaincode does not run:
/// the peer could not launch it (its container did not start or did not
/// register in time) or the peer did not answer. The chaincode's own
/// error for a function it lacks says it runs.
pub fn not_running(e: &ChannelError) -> bool {
    match e {
        ChannelError::PeerRejected { message, .. } => {
            message.contains("could not launch chaincode")
                || message.contains("chaincode registration failed")
                || message.contains("error starting container")
                || message.contains("make sure the chaincode")
        }
        _ => true,
    }
}

/// Ask every peer of the channel to run chaincode `name` now, all at
/// once: each answers when the chaincode answers it.
pub async fn launch_all(admins: &ChannelAdmins, name: &str) -> Vec<Launch> {
    let channel = admins.channel().to_string();
    let calls = admins.peers().map(|peer| {
        let channel = channel.clone();
        async move {
            let start = Instant::now();
            let result = peer
                .evaluate(&channel, name, LAUNCH_FUNCTION, &[], CALL_TIMEOUT)
                .await;
            let result = match result {
                Ok(_) => Ok(()),
                Err(e) if !not_running(&e) => Ok(()),
                Err(e) => Err(e),
            };
            Launch {
                peer: peer.node().to_string(),
                took: start.elapsed(),
                result,
            }
        }
    });
    futures_join_all(calls.collect()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(message: &str) -> ChannelError {
        ChannelError::PeerRejected {
            node: "peer0-org1".into(),
            address: "127.0.0.1:1".into(),
            action: "basic GetMetadata on mychannel".into(),
            status: 500,
            message: message.into(),
        }
    }

    #[test]
    fn the_chaincodes_own_error_says_it_runs_a_launch_failure_does_not() {
        // A shim chaincode without the function: it runs.
        assert!(!not_running(&rejected(
            "evaluate call to endorser returned error: chaincode response 500, Unknown function org.hyperledger.fabric:GetMetadata"
        )));
        // The peer's own failures to start it.
        assert!(not_running(&rejected(
            "error in simulation: failed to execute transaction 4d2…: could not launch chaincode basic_1.0:ab12: chaincode registration failed: container exited with 1"
        )));
        assert!(not_running(&rejected(
            "failed to execute transaction: error starting container"
        )));
    }
}
