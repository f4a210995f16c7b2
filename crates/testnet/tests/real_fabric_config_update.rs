//! Real Fabric: a running channel's config changed natively
//! (`network::channel::update_channel`): the config read from an orderer's
//! Deliver service, the update computed, signed by the admins its policies
//! need, submitted through Broadcast, and waited for on every peer.
//! Without binaries this is reported `ignored` with the reason (build.rs).

#![cfg_attr(not(fabric_binaries), allow(dead_code, unused_imports))]

use std::time::{Duration, Instant};

use network::channel::{
    ChannelError, Network, Signers, current_config, peer_channel_config, update_channel,
};
use network::fabric::{Message as _, common, orderer};
use testkit::fabric::{commit_approval, home, start, two_orgs, workspace};
use testnet::Options;

const CHANNEL: &str = testkit::fabric::CHANNEL;
const TIMEOUT: Duration = Duration::from_secs(60);

/// The channel's batch timeout in `config`.
fn batch_timeout(config: &common::Config) -> String {
    let value = config
        .channel_group
        .as_ref()
        .and_then(|g| g.groups.get("Orderer"))
        .and_then(|g| g.values.get("BatchTimeout"))
        .expect("an Orderer group with a BatchTimeout");
    orderer::BatchTimeout::decode(value.value.as_slice())
        .expect("BatchTimeout")
        .timeout
}

/// `config` with its batch timeout set to `timeout`.
fn with_batch_timeout(config: &common::Config, timeout: &str) -> common::Config {
    let mut out = config.clone();
    let value = out
        .channel_group
        .as_mut()
        .and_then(|g| g.groups.get_mut("Orderer"))
        .and_then(|g| g.values.get_mut("BatchTimeout"))
        .expect("an Orderer group with a BatchTimeout");
    value.value = network::fabric::encode(&orderer::BatchTimeout {
        timeout: timeout.to_string(),
    });
    out
}

#[tokio::test]
#[cfg_attr(
    not(fabric_binaries),
    ignore = "no Fabric binaries: set FABRIC_HOME to a Fabric release folder (bin/, config/)"
)]
async fn real_fabric_batch_timeout_raised_on_a_running_channel() {
    let fabric = home();
    let ws = workspace(&fabric, &two_orgs("cfgupdate", 31000));
    let net = start(ws, Options::default()).await;
    net.create_channel(CHANNEL).await.expect("channel");
    let endpoints = net.endpoints();
    let access = Network {
        ws: net.workspace(),
        topo: net.topology(),
        crypto: net.crypto(),
        endpoints: &endpoints,
    };
    commit_approval(&net, "peer0-org1", "before").await;

    let before = current_config(access, CHANNEL, TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("current config: {e}\n{}", net.all_logs()));
    let old = batch_timeout(&before.config);
    assert_eq!(
        old,
        network::genesis::go_duration_ms(net.workspace().batch_timeout_ms),
        "fabdev.yaml's batch timeout"
    );
    assert_ne!(old, "2s");
    let wanted = with_batch_timeout(&before.config, "2s");

    // Signed by Org1's admin only: /Channel/Orderer/Admins needs the
    // orderer org's, so the orderer refuses, saying why, and nothing
    // changes.
    let e = update_channel(
        access,
        CHANNEL,
        &before.config,
        &wanted,
        &Signers::Orgs(vec!["Org1".into()]),
        TIMEOUT,
    )
    .await
    .expect_err("an update signed by too few admins");
    let text = e.to_string();
    eprintln!("signed by Org1 only: {text}");
    assert!(
        matches!(e, ChannelError::UpdateRefused { status: 400, .. })
            && text.contains(CHANNEL)
            && text.contains("BAD_REQUEST")
            && text.contains("orderer0-ordererorg")
            && text.contains("/Channel/Orderer/BatchTimeout"),
        "{text}"
    );
    let unchanged = current_config(access, CHANNEL, TIMEOUT)
        .await
        .expect("config");
    assert_eq!(unchanged.config.sequence, before.config.sequence);
    assert_eq!(batch_timeout(&unchanged.config), old);

    // As the policies require: the orderer org's admin.
    let start = Instant::now();
    let applied = update_channel(
        access,
        CHANNEL,
        &before.config,
        &wanted,
        &Signers::AsRequired,
        TIMEOUT,
    )
    .await
    .unwrap_or_else(|e| panic!("update: {e}\n{}", net.all_logs()));
    eprintln!(
        "batch timeout {old} -> 2s: applied and seen by {:?} in {:?} (test clock {:?})",
        applied.peers,
        applied.took,
        start.elapsed()
    );
    assert_eq!(applied.policies, ["/Channel/Orderer/Admins"]);
    assert_eq!(applied.signers, ["OrdererOrg"]);
    assert_eq!(applied.sequence, before.config.sequence + 1);
    assert_eq!(applied.peers, ["peer0-org1", "peer0-org2"]);

    let after = current_config(access, CHANNEL, TIMEOUT)
        .await
        .expect("config");
    assert_eq!(batch_timeout(&after.config), "2s");
    assert_eq!(after.config.sequence, applied.sequence);
    assert!(after.number > before.number, "a new config block");
    for peer in ["peer0-org1", "peer0-org2"] {
        let node = net.topology().node(peer).expect("peer");
        let ep = endpoints.get(peer).expect("endpoint");
        let seen = peer_channel_config(node, ep, net.crypto(), CHANNEL, TIMEOUT)
            .await
            .expect("peer config");
        assert_eq!(batch_timeout(&seen), "2s", "{peer}");
    }

    // The same update again is stale: its read set names the old version.
    let e = update_channel(
        access,
        CHANNEL,
        &before.config,
        &wanted,
        &Signers::AsRequired,
        TIMEOUT,
    )
    .await
    .expect_err("a stale update");
    assert!(matches!(e, ChannelError::UpdateRefused { .. }), "{e}");

    // A transaction still commits.
    commit_approval(&net, "peer0-org2", "after").await;
}
