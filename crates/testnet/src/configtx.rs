//! The `configtx.yaml` profile that makes `configtxgen` build the channel
//! fabdev builds (same orgs, policies, capabilities, consenters, batch and
//! Raft options), to cross-check fabdev's genesis block against Fabric's
//! own tool.

use network::pki::CryptoDir;
use network::topology::ports;
use network::{Topology, Workspace};

/// The profile's name in [`configtx_yaml`].
pub const PROFILE: &str = "FabdevChannel";

fn q(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A `configtx.yaml` with one profile, [`PROFILE`], for `channel`, reading
/// MSPs and TLS certificates from `crypto`. Values are those of
/// `network::genesis::GenesisOptions::new` (Raft options) and
/// the workspace (BatchSize, BatchTimeout, capabilities by Fabric version).
pub fn configtx_yaml(ws: &Workspace, topo: &Topology, crypto: &CryptoDir, channel: &str) -> String {
    let opts = network::genesis::GenesisOptions::new(channel);
    let orgs: Vec<&network::spec::PeerOrg> = ws
        .channel(channel)
        .map(|c| c.orgs.iter().filter_map(|o| ws.org(o)).collect())
        .unwrap_or_default();
    let mut y = String::from("Organizations:\n");
    let o = &ws.orderer;
    y.push_str(&format!(
        "  - &{anchor}\n    Name: {name}\n    ID: {id}\n    MSPDir: {dir}\n    Policies:\n\
         \x20     Readers: {{ Type: Signature, Rule: \"OR('{id}.member')\" }}\n\
         \x20     Writers: {{ Type: Signature, Rule: \"OR('{id}.member')\" }}\n\
         \x20     Admins: {{ Type: Signature, Rule: \"OR('{id}.admin')\" }}\n    OrdererEndpoints:\n",
        anchor = "Orderer_",
        name = q(&o.name),
        id = o.msp_id,
        dir = q(&crypto.org_msp_dir(&o.name).to_string_lossy()),
    ));
    for n in topo.orderers() {
        y.push_str(&format!("      - {}\n", q(&n.address())));
    }
    for (i, org) in orgs.iter().enumerate() {
        let id = &org.msp_id;
        y.push_str(&format!(
            "  - &Org_{i}\n    Name: {name}\n    ID: {id}\n    MSPDir: {dir}\n    Policies:\n\
             \x20     Readers: {{ Type: Signature, Rule: \"OR('{id}.admin', '{id}.peer', '{id}.client')\" }}\n\
             \x20     Writers: {{ Type: Signature, Rule: \"OR('{id}.admin', '{id}.client')\" }}\n\
             \x20     Admins: {{ Type: Signature, Rule: \"OR('{id}.admin')\" }}\n\
             \x20     Endorsement: {{ Type: Signature, Rule: \"OR('{id}.peer')\" }}\n",
            name = q(&org.name),
            dir = q(&crypto.org_msp_dir(&org.name).to_string_lossy()),
        ));
        let anchors: Vec<_> = org
            .anchor_peers
            .iter()
            .filter_map(|i| topo.peers_of(&org.name).find(|n| n.index == *i))
            .collect();
        if !anchors.is_empty() {
            y.push_str("    AnchorPeers:\n");
            for p in anchors {
                y.push_str(&format!(
                    "      - {{ Host: {}, Port: {} }}\n",
                    q(&p.name),
                    ports::PEER
                ));
            }
        }
    }
    let channel_cap = if ws.fabric.is_v3() { "V3_0" } else { "V2_0" };
    let implicit = "\
      Readers: { Type: ImplicitMeta, Rule: \"ANY Readers\" }\n\
      Writers: { Type: ImplicitMeta, Rule: \"ANY Writers\" }\n\
      Admins: { Type: ImplicitMeta, Rule: \"MAJORITY Admins\" }\n";
    let indent = |text: &str, by: usize| {
        text.lines()
            .map(|l| format!("{}{}\n", " ".repeat(by), l.trim_start()))
            .collect::<String>()
    };
    y.push_str(&format!("Profiles:\n  {PROFILE}:\n    Policies:\n"));
    y.push_str(&indent(implicit, 6));
    y.push_str(&format!("    Capabilities:\n      {channel_cap}: true\n"));
    if ws.orderer.consensus == network::spec::Consensus::Bft {
        bft_orderer(&mut y, ws, topo, crypto, &opts);
    } else {
        y.push_str(
            "    Orderer:\n      OrdererType: etcdraft\n      EtcdRaft:\n        Consenters:\n",
        );
        for n in topo.orderers() {
            let cert = crypto.node_dir(n).join("tls").join("server.crt");
            let cert = q(&cert.to_string_lossy());
            y.push_str(&format!(
                "          - {{ Host: {}, Port: {}, ClientTLSCert: {cert}, ServerTLSCert: {cert} }}\n",
                q(&n.name),
                ports::ORDERER
            ));
        }
        let r = &opts.raft;
        y.push_str(&format!(
            "        Options:\n          TickInterval: {}\n          ElectionTick: {}\n          HeartbeatTick: {}\n\
             \x20         MaxInflightBlocks: {}\n          SnapshotIntervalSize: {}\n",
            r.tick_interval, r.election_tick, r.heartbeat_tick, r.max_inflight_blocks, r.snapshot_interval_size
        ));
    }
    let b = &ws.batch_size;
    y.push_str(&format!(
        "      BatchTimeout: {}\n      BatchSize:\n        MaxMessageCount: {}\n        AbsoluteMaxBytes: {}\n        PreferredMaxBytes: {}\n",
        network::genesis::go_duration_ms(ws.batch_timeout_ms),
        b.max_message_count,
        b.absolute_max_bytes,
        b.preferred_max_bytes
    ));
    y.push_str("      Organizations:\n        - *Orderer_\n      Policies:\n");
    y.push_str(&indent(implicit, 8));
    y.push_str("        BlockValidation: { Type: ImplicitMeta, Rule: \"ANY Writers\" }\n");
    y.push_str("      Capabilities:\n        V2_0: true\n");
    y.push_str("    Application:\n      Organizations:\n");
    for i in 0..orgs.len() {
        y.push_str(&format!("        - *Org_{i}\n"));
    }
    y.push_str("      Policies:\n");
    y.push_str(&indent(implicit, 8));
    y.push_str(
        "        LifecycleEndorsement: { Type: ImplicitMeta, Rule: \"MAJORITY Endorsement\" }\n",
    );
    y.push_str("        Endorsement: { Type: ImplicitMeta, Rule: \"MAJORITY Endorsement\" }\n");
    y.push_str("      Capabilities:\n        V2_5: true\n");
    y
}

/// The Orderer section's start of a BFT profile: `OrdererType: BFT`, the
/// consenter mapping (IDs from 1, each orderer's enrollment certificate as
/// identity) and every SmartBFT option written out (configtxgen takes a
/// given `SmartBFT` section as it is, unset fields zero).
fn bft_orderer(
    y: &mut String,
    ws: &Workspace,
    topo: &Topology,
    crypto: &CryptoDir,
    opts: &network::genesis::GenesisOptions,
) {
    y.push_str("    Orderer:\n      OrdererType: BFT\n      ConsenterMapping:\n");
    for (i, n) in topo.orderers().enumerate() {
        let cert = crypto.node_dir(n).join("tls").join("server.crt");
        let cert = q(&cert.to_string_lossy());
        let id = crypto
            .node_dir(n)
            .join("msp")
            .join("signcerts")
            .join("cert.pem");
        y.push_str(&format!(
            "        - {{ ID: {}, Host: {}, Port: {}, MSPID: {}, Identity: {}, ClientTLSCert: {cert}, ServerTLSCert: {cert} }}\n",
            i + 1,
            q(&n.name),
            ports::ORDERER,
            q(&ws.orderer.msp_id),
            q(&id.to_string_lossy()),
        ));
    }
    let o = opts
        .bft
        .proto(network::genesis::go_duration_ms(ws.batch_timeout_ms));
    y.push_str(&format!(
        "      SmartBFT:\n\
         \x20       RequestBatchMaxCount: {}\n\
         \x20       RequestBatchMaxBytes: {}\n\
         \x20       RequestBatchMaxInterval: {}\n\
         \x20       IncomingMessageBufferSize: {}\n\
         \x20       RequestPoolSize: {}\n\
         \x20       RequestForwardTimeout: {}\n\
         \x20       RequestComplainTimeout: {}\n\
         \x20       RequestAutoRemoveTimeout: {}\n\
         \x20       ViewChangeResendInterval: {}\n\
         \x20       ViewChangeTimeout: {}\n\
         \x20       LeaderHeartbeatTimeout: {}\n\
         \x20       LeaderHeartbeatCount: {}\n\
         \x20       CollectTimeout: {}\n",
        o.request_batch_max_count,
        o.request_batch_max_bytes,
        o.request_batch_max_interval,
        o.incoming_message_buffer_size,
        o.request_pool_size,
        o.request_forward_timeout,
        o.request_complain_timeout,
        o.request_auto_remove_timeout,
        o.view_change_resend_interval,
        o.view_change_timeout,
        o.leader_heartbeat_timeout,
        o.leader_heartbeat_count,
        o.collect_timeout,
    ));
}
