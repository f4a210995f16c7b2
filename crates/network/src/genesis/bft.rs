//! The orderer group of a BFT channel (Fabric 3's SmartBFT), as
//! `configtxgen` 3.x builds it (`internal/configtxgen/encoder`,
//! `common/policies/bft.go`):
//!
//! - an `Orderers` value (mod_policy Admins) whose consenter mapping lists
//!   every orderer: ID from 1 in topology order, host = node name, port
//!   7050, the orderer org's MSP ID, its enrollment certificate
//!   (`msp/signcerts/cert.pem`) as identity, and its `tls/server.crt` as
//!   client and server TLS certificate;
//! - `ConsensusType` `BFT` whose metadata is the `smartbft.Options`
//!   ([`BftOptions`]);
//! - the `BlockValidation` policy replaced by a signature policy: any
//!   quorum of the consenters' identities, quorum = ceil((n + f + 1) / 2)
//!   with f = (n - 1) / 3 (3 of 4), each an IDENTITY principal
//!   (`SerializedIdentity{mspid, id_bytes}`), keeping the mod_policy Admins.

use super::*;
use crate::fabric::{msp, smartbft};

/// `ConsensusType.type` of a BFT channel.
pub const CONSENSUS_BFT: &str = "BFT";
/// The `Orderers` value's key (`channelconfig.OrderersKey`).
const ORDERERS: &str = "Orderers";

/// SmartBFT options of the channel (`smartbft.Options`). Durations are Go
/// duration strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BftOptions {
    pub request_batch_max_count: u64,
    pub request_batch_max_bytes: u64,
    pub incoming_message_buffer_size: u64,
    pub request_pool_size: u64,
    pub request_forward_timeout: String,
    pub request_complain_timeout: String,
    pub request_auto_remove_timeout: String,
    pub view_change_resend_interval: String,
    pub view_change_timeout: String,
    pub leader_heartbeat_timeout: String,
    pub leader_heartbeat_count: u64,
    pub collect_timeout: String,
}

impl Default for BftOptions {
    /// The fabric-samples test network's BFT values (its
    /// `bft-config/configtx.yaml`); the batch interval is the workspace's
    /// batch timeout. Leader rotation stays unset (off), as there.
    fn default() -> Self {
        BftOptions {
            request_batch_max_count: 100,
            request_batch_max_bytes: 10 * 1024 * 1024,
            incoming_message_buffer_size: 200,
            request_pool_size: 100_000,
            request_forward_timeout: "2s".to_string(),
            request_complain_timeout: "20s".to_string(),
            request_auto_remove_timeout: "3m0s".to_string(),
            view_change_resend_interval: "5s".to_string(),
            view_change_timeout: "20s".to_string(),
            leader_heartbeat_timeout: "1m0s".to_string(),
            leader_heartbeat_count: 10,
            collect_timeout: "1s".to_string(),
        }
    }
}

impl BftOptions {
    /// The proto message, with the batch interval given.
    pub fn proto(&self, request_batch_max_interval: String) -> smartbft::Options {
        smartbft::Options {
            request_batch_max_count: self.request_batch_max_count,
            request_batch_max_bytes: self.request_batch_max_bytes,
            request_batch_max_interval,
            incoming_message_buffer_size: self.incoming_message_buffer_size,
            request_pool_size: self.request_pool_size,
            request_forward_timeout: self.request_forward_timeout.clone(),
            request_complain_timeout: self.request_complain_timeout.clone(),
            request_auto_remove_timeout: self.request_auto_remove_timeout.clone(),
            request_max_bytes: 0,
            view_change_resend_interval: self.view_change_resend_interval.clone(),
            view_change_timeout: self.view_change_timeout.clone(),
            leader_heartbeat_timeout: self.leader_heartbeat_timeout.clone(),
            leader_heartbeat_count: self.leader_heartbeat_count,
            collect_timeout: self.collect_timeout.clone(),
            sync_on_start: false,
            speed_up_view_change: false,
            leader_rotation: smartbft::options::Rotation::Unspecified as i32,
            decisions_per_leader: 0,
        }
    }
}

/// SmartBFT's quorum of `n` consenters (`policies.ComputeBFTQuorum`).
pub fn bft_quorum(n: usize) -> usize {
    let f = n.saturating_sub(1) / 3;
    (n + f + 1).div_ceil(2)
}

/// Puts the BFT values and the BlockValidation policy into the orderer
/// group (which already has its other policies and values).
pub(super) fn orderer_values(
    orderer: &mut Group,
    ws: &Workspace,
    orderers: &[&Node],
    files: &Files<'_>,
    opts: &GenesisOptions,
) -> Result<(), GenesisError> {
    let msp_id = ws.orderer.msp_id.clone();
    let mut consenters = Vec::with_capacity(orderers.len());
    for (i, node) in orderers.iter().enumerate() {
        let tls = files.crypto.node_tls(&node.name);
        let cert = files.cert(
            &node.org,
            &format!("TLS certificate of {}", node.name),
            &tls,
            "server.crt",
        )?;
        let msp = files.crypto.node_signcerts(&node.name);
        let identity = files.cert(
            &node.org,
            &format!("enrollment certificate of {}", node.name),
            &msp,
            "cert.pem",
        )?;
        consenters.push(common::Consenter {
            id: u32::try_from(i + 1).unwrap_or(u32::MAX),
            host: node.name.clone(),
            port: u32::from(ports::ORDERER),
            msp_id: msp_id.clone(),
            identity,
            client_tls_cert: cert.clone(),
            server_tls_cert: cert,
        });
    }
    orderer.policy(
        BLOCK_VALIDATION,
        common::policy::PolicyType::Signature,
        fabric::encode(&block_validation(&consenters)),
    );
    orderer.value(
        ORDERERS,
        &common::Orderers {
            consenter_mapping: consenters,
        },
    );
    orderer.value(
        CONSENSUS_TYPE,
        &fabric::orderer::ConsensusType {
            r#type: CONSENSUS_BFT.to_string(),
            metadata: fabric::encode(&opts.bft.proto(go_duration_ms(ws.batch_timeout_ms))),
            state: fabric::orderer::consensus_type::State::Normal as i32,
        },
    );
    Ok(())
}

/// Any quorum of the consenters' signatures.
fn block_validation(consenters: &[common::Consenter]) -> common::SignaturePolicyEnvelope {
    use common::signature_policy::{NOutOf, Type};
    let identities = consenters
        .iter()
        .map(|c| common::MspPrincipal {
            principal_classification: common::msp_principal::Classification::Identity as i32,
            principal: fabric::encode(&msp::SerializedIdentity {
                mspid: c.msp_id.clone(),
                id_bytes: c.identity.clone(),
            }),
        })
        .collect::<Vec<_>>();
    let rules = (0..consenters.len())
        .map(|i| common::SignaturePolicy {
            r#type: Some(Type::SignedBy(i32::try_from(i).unwrap_or(i32::MAX))),
        })
        .collect();
    common::SignaturePolicyEnvelope {
        version: 0,
        rule: Some(common::SignaturePolicy {
            r#type: Some(Type::NOutOf(NOutOf {
                n: i32::try_from(bft_quorum(consenters.len())).unwrap_or(i32::MAX),
                rules,
            })),
        }),
        identities,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorums_as_fabric_computes_them() {
        // n: 4 -> f 1 -> 3; 5 -> 1 -> 4 (ceil 3.5); 7 -> 2 -> 5; 10 -> 3 -> 7.
        for (n, q) in [(1, 1), (4, 3), (5, 4), (6, 4), (7, 5), (10, 7)] {
            assert_eq!(bft_quorum(n), q, "n = {n}");
        }
    }
}
