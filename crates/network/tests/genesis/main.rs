//! Channel genesis blocks: built from real generated crypto, decoded back with
//! prost and checked piece by piece against configtxgen's construction as
//! Fabric's source describes it (groups, values, policies, capabilities,
//! consenters, MSPs, anchor peers, block header, data hash and metadata),
//! plus determinism, the describe output (snapshot) and the errors. Nothing
//! here runs configtxgen: comparing with its output is for the tests that
//! run real Fabric binaries.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use network::fabric::{Message, common, etcdraft, msp, orderer, peer};
use network::genesis::{
    self, BatchSize, CryptoView, GenesisError, GenesisOptions, describe_block, genesis_block,
    genesis_block_from, genesis_block_with,
};
use network::pki::CryptoDir;
use network::{Topology, Workspace};
use serde_json::Value;
use sha2::{Digest, Sha256};
use testkit::net::CryptoNet;

mod blocks;
mod errors;

// ---------------------------------------------------------------------------
// Workspaces and crypto
// ---------------------------------------------------------------------------

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Three Raft orderers, three orgs with two peers each; channels
/// `mychannel` (all three orgs) and `bilateral` (Org1, Org2).
fn three_orgs_ws() -> Workspace {
    let ws = Workspace::load_file(&repo().join("fixtures/specs/three-orgs.yaml"))
        .expect("fixtures/specs/three-orgs.yaml parses");
    assert_eq!(ws.orderer.count, 3);
    assert_eq!(ws.orgs.len(), 3);
    ws
}

/// Fabric 3.1, one orderer, two orgs, a 1.5 s batch timeout.
fn v3_ws() -> Workspace {
    let text = r#"
apiVersion: fabdev/v1alpha1
kind: Workspace
name: v3
fabric: { version: "3.1", batchTimeoutMs: 1500 }
orderer: { org: OrdererOrg, count: 1 }
orgs:
  - { name: Org1, peers: 1 }
  - { name: Org2, peers: 2 }
channels:
  - { name: mychannel, orgs: [Org1, Org2] }
"#;
    let ws = Workspace::parse(text, Path::new("v3.yaml"), Path::new(".")).expect("v3 spec");
    assert!(ws.fabric.is_v3());
    ws
}

/// A workspace's crypto material, read as the genesis block reads it.
struct Net(CryptoNet);

impl std::ops::Deref for Net {
    type Target = CryptoNet;
    fn deref(&self) -> &CryptoNet {
        &self.0
    }
}

impl Net {
    fn new(ws: Workspace) -> Net {
        Net(CryptoNet::new(ws))
    }

    fn block(&self, channel: &str) -> Vec<u8> {
        genesis_block(&self.ws, &self.topo, &self.crypto, channel).expect("genesis block")
    }

    fn ca(&self, org: &str) -> Vec<u8> {
        read(&self.crypto.org_msp_dir(org).join("cacerts/ca.crt"))
    }

    fn tlsca(&self, org: &str) -> Vec<u8> {
        read(&self.crypto.org_msp_dir(org).join("tlscacerts/tlsca.crt"))
    }

    fn server_tls(&self, node: &network::Node) -> Vec<u8> {
        read(&self.crypto.node_dir(node).join("tls/server.crt"))
    }
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

// ---------------------------------------------------------------------------
// Decoding helpers
// ---------------------------------------------------------------------------

fn dec<M: Message + Default>(bytes: &[u8]) -> M {
    M::decode(bytes).expect("decodes")
}

/// A block taken apart.
struct Parsed {
    block: common::Block,
    envelope: common::Envelope,
    chdr: common::ChannelHeader,
    shdr: common::SignatureHeader,
    config_envelope: common::ConfigEnvelope,
}

impl Parsed {
    fn new(bytes: &[u8]) -> Parsed {
        let block: common::Block = dec(bytes);
        let data = block.data.as_ref().expect("block data");
        assert_eq!(data.data.len(), 1, "one envelope");
        let envelope: common::Envelope = dec(&data.data[0]);
        let payload: common::Payload = dec(&envelope.payload);
        let header = payload.header.as_ref().expect("payload header");
        let chdr = dec(&header.channel_header);
        let shdr = dec(&header.signature_header);
        let config_envelope = dec(&payload.data);
        Parsed {
            block,
            envelope,
            chdr,
            shdr,
            config_envelope,
        }
    }

    fn root(&self) -> &common::ConfigGroup {
        let config = self.config_envelope.config.as_ref().expect("config");
        config.channel_group.as_ref().expect("channel group")
    }

    fn group(&self, path: &[&str]) -> &common::ConfigGroup {
        let mut g = self.root();
        for key in path {
            g = g
                .groups
                .get(*key)
                .unwrap_or_else(|| panic!("group {path:?}: no {key}"));
        }
        g
    }
}

fn keys<V>(m: &BTreeMap<String, V>) -> Vec<&str> {
    m.keys().map(String::as_str).collect()
}

fn value<M: Message + Default>(g: &common::ConfigGroup, key: &str) -> M {
    dec(&g
        .values
        .get(key)
        .unwrap_or_else(|| panic!("no value {key}"))
        .value)
}

fn capabilities(g: &common::ConfigGroup) -> Vec<String> {
    let caps: common::Capabilities = value(g, "Capabilities");
    let mut names: Vec<String> = caps.capabilities.keys().cloned().collect();
    names.sort();
    names
}

fn policy(g: &common::ConfigGroup, key: &str) -> common::Policy {
    g.policies
        .get(key)
        .unwrap_or_else(|| panic!("no policy {key}"))
        .policy
        .clone()
        .expect("policy set")
}

/// An ImplicitMeta policy as `"<RULE> <sub_policy>"`.
fn implicit(g: &common::ConfigGroup, key: &str) -> String {
    let p = policy(g, key);
    assert_eq!(
        p.r#type,
        common::policy::PolicyType::ImplicitMeta as i32,
        "{key}"
    );
    let imp: common::ImplicitMetaPolicy = dec(&p.value);
    let rule = common::implicit_meta_policy::Rule::try_from(imp.rule).expect("rule");
    format!("{} {}", rule.as_str_name(), imp.sub_policy)
}

/// A Signature policy, checked to be policydsl's `OR(...)` shape, as its
/// principals `"<msp>.<ROLE>"`.
fn or_principals(g: &common::ConfigGroup, key: &str) -> Vec<String> {
    use common::signature_policy::Type;
    let p = policy(g, key);
    assert_eq!(
        p.r#type,
        common::policy::PolicyType::Signature as i32,
        "{key}"
    );
    let env: common::SignaturePolicyEnvelope = dec(&p.value);
    assert_eq!(env.version, 0);
    let Some(Type::NOutOf(n)) = env.rule.and_then(|r| r.r#type) else {
        panic!("{key}: rule is not an n-out-of");
    };
    assert_eq!(n.n, 1, "{key}: OR is 1-out-of-n");
    let signed_by: Vec<i32> = n
        .rules
        .iter()
        .map(|r| match r.r#type {
            Some(Type::SignedBy(i)) => i,
            ref other => panic!("{key}: not signed_by: {other:?}"),
        })
        .collect();
    let expect: Vec<i32> = (0..env.identities.len() as i32).collect();
    assert_eq!(
        signed_by, expect,
        "{key}: one SignedBy per principal, in order"
    );
    env.identities
        .iter()
        .map(|p| {
            assert_eq!(
                p.principal_classification,
                common::msp_principal::Classification::Role as i32
            );
            let role: common::MspRole = dec(&p.principal);
            let r = common::msp_role::MspRoleType::try_from(role.role).expect("role");
            format!("{}.{}", role.msp_identifier, r.as_str_name())
        })
        .collect()
}

/// Every group, value and policy: version 0, mod_policy Admins.
fn assert_versions_and_mod_policies(g: &common::ConfigGroup, path: &str) {
    assert_eq!(g.version, 0, "{path}");
    assert_eq!(g.mod_policy, "Admins", "{path}");
    for (k, v) in &g.values {
        assert_eq!(
            (v.version, v.mod_policy.as_str()),
            (0, "Admins"),
            "{path}/{k}"
        );
    }
    for (k, p) in &g.policies {
        assert_eq!(
            (p.version, p.mod_policy.as_str()),
            (0, "Admins"),
            "{path}/{k}"
        );
    }
    for (k, sub) in &g.groups {
        assert_eq!(sub.version, 0);
        assert_versions_and_mod_policies(sub, &format!("{path}/{k}"));
    }
}

/// The MSP value of an org: what configbuilder reads from its msp folder.
fn assert_msp(net: &Net, g: &common::ConfigGroup, org: &str, msp_id: &str) {
    let msp: msp::MspConfig = value(g, "MSP");
    assert_eq!(msp.r#type, 0, "FABRIC");
    let c: msp::FabricMspConfig = dec(&msp.config);
    let ca = net.ca(org);
    assert_eq!(c.name, msp_id);
    assert_eq!(c.root_certs, vec![ca.clone()], "{org}: root certs = ca.crt");
    assert_eq!(c.tls_root_certs, vec![net.tlsca(org)], "{org}: tlsca.crt");
    assert!(c.intermediate_certs.is_empty());
    assert!(c.tls_intermediate_certs.is_empty());
    assert!(c.admins.is_empty(), "NodeOUs: no admincerts");
    assert!(c.revocation_list.is_empty());
    assert!(c.signing_identity.is_none());
    assert!(c.organizational_unit_identifiers.is_empty());
    let cc = c.crypto_config.expect("crypto config");
    assert_eq!(cc.signature_hash_family, "SHA2");
    assert_eq!(cc.identity_identifier_hash_function, "SHA256");
    let ous = c.fabric_node_ous.expect("node OUs");
    assert!(ous.enable);
    for (ou, name) in [
        (ous.client_ou_identifier, "client"),
        (ous.peer_ou_identifier, "peer"),
        (ous.admin_ou_identifier, "admin"),
        (ous.orderer_ou_identifier, "orderer"),
    ] {
        let ou = ou.unwrap_or_else(|| panic!("{org}: {name} OU"));
        assert_eq!(ou.organizational_unit_identifier, name);
        assert_eq!(ou.certificate, ca, "{org}: {name} OU certificate = ca.crt");
    }
}

// ---------------------------------------------------------------------------
// The whole check, for any workspace and channel
// ---------------------------------------------------------------------------

fn check_block(net: &Net, channel: &str, bytes: &[u8]) -> Parsed {
    let ws = &net.ws;
    let b = Parsed::new(bytes);

    // Block header and data hash.
    let header = b.block.header.as_ref().expect("header");
    assert_eq!(header.number, 0);
    assert!(header.previous_hash.is_empty());
    let data = &b.block.data.as_ref().expect("data").data;
    let concatenated: Vec<u8> = data.concat();
    assert_eq!(header.data_hash, Sha256::digest(&concatenated).to_vec());

    // Envelope and headers.
    assert!(b.envelope.signature.is_empty());
    assert_eq!(b.chdr.r#type, common::HeaderType::Config as i32);
    assert_eq!(b.chdr.version, 1, "genesis.go's msgVersion");
    assert_eq!(b.chdr.channel_id, channel);
    assert_eq!(b.chdr.epoch, 0);
    assert!(b.chdr.timestamp.is_none(), "no timestamp: deterministic");
    assert!(b.chdr.extension.is_empty() && b.chdr.tls_cert_hash.is_empty());
    assert!(b.shdr.creator.is_empty());
    assert_eq!(b.shdr.nonce.len(), 24);
    let mut h = Sha256::new();
    h.update(&b.shdr.nonce);
    h.update(&b.shdr.creator);
    assert_eq!(b.chdr.tx_id, hex::encode(h.finalize()));
    assert!(b.config_envelope.last_update.is_none());
    assert_eq!(
        b.config_envelope.config.as_ref().expect("config").sequence,
        0
    );

    // Metadata: genesis.go's exact bytes.
    let md = &b.block.metadata.as_ref().expect("metadata").metadata;
    assert_eq!(md.len(), 5, "one entry per BlockMetadataIndex");
    let sigs: common::Metadata = dec(&md[0]);
    assert!(sigs.signatures.is_empty());
    let obm: common::OrdererBlockMetadata = dec(&sigs.value);
    assert_eq!(obm.last_config, Some(common::LastConfig { index: 0 }));
    assert!(obm.consenter_metadata.is_empty());
    assert_eq!(md[0], [0x0a, 0x02, 0x0a, 0x00]);
    let last: common::Metadata = dec(&md[1]);
    assert_eq!(dec::<common::LastConfig>(&last.value).index, 0);
    assert!(
        md[1].is_empty(),
        "Metadata{{LastConfig{{0}}}} encodes to nothing"
    );
    assert!(md[2..].iter().all(Vec::is_empty));

    // Channel group.
    let root = b.root();
    assert_versions_and_mod_policies(root, "Channel");
    assert_eq!(keys(&root.groups), ["Application", "Orderer"]);
    assert_eq!(
        keys(&root.values),
        [
            "BlockDataHashingStructure",
            "Capabilities",
            "HashingAlgorithm"
        ],
        "no global OrdererAddresses, no Consortium"
    );
    assert_eq!(keys(&root.policies), ["Admins", "Readers", "Writers"]);
    assert_eq!(implicit(root, "Readers"), "ANY Readers");
    assert_eq!(implicit(root, "Writers"), "ANY Writers");
    assert_eq!(implicit(root, "Admins"), "MAJORITY Admins");
    assert_eq!(
        value::<common::HashingAlgorithm>(root, "HashingAlgorithm").name,
        "SHA256"
    );
    assert_eq!(
        value::<common::BlockDataHashingStructure>(root, "BlockDataHashingStructure").width,
        u32::MAX
    );
    let channel_cap = if ws.fabric.is_v3() { "V3_0" } else { "V2_0" };
    assert_eq!(capabilities(root), [channel_cap]);

    // Orderer group.
    let orderer = b.group(&["Orderer"]);
    assert_eq!(
        keys(&orderer.policies),
        ["Admins", "BlockValidation", "Readers", "Writers"]
    );
    assert_eq!(implicit(orderer, "Readers"), "ANY Readers");
    assert_eq!(implicit(orderer, "Writers"), "ANY Writers");
    assert_eq!(implicit(orderer, "Admins"), "MAJORITY Admins");
    assert_eq!(implicit(orderer, "BlockValidation"), "ANY Writers");
    assert_eq!(
        keys(&orderer.values),
        [
            "BatchSize",
            "BatchTimeout",
            "Capabilities",
            "ChannelRestrictions",
            "ConsensusType"
        ]
    );
    assert_eq!(
        value::<orderer::BatchSize>(orderer, "BatchSize"),
        orderer::BatchSize {
            max_message_count: 10,
            absolute_max_bytes: 99 * 1024 * 1024,
            preferred_max_bytes: 512 * 1024,
        }
    );
    assert_eq!(
        value::<orderer::BatchTimeout>(orderer, "BatchTimeout").timeout,
        genesis::go_duration_ms(ws.batch_timeout_ms)
    );
    assert_eq!(
        value::<orderer::ChannelRestrictions>(orderer, "ChannelRestrictions").max_count,
        0
    );
    assert_eq!(capabilities(orderer), ["V2_0"]);
    let ct: orderer::ConsensusType = value(orderer, "ConsensusType");
    assert_eq!(ct.r#type, "etcdraft");
    assert_eq!(ct.state, orderer::consensus_type::State::Normal as i32);
    let raft: etcdraft::ConfigMetadata = dec(&ct.metadata);
    let want: Vec<etcdraft::Consenter> = net
        .topo
        .orderers()
        .map(|n| etcdraft::Consenter {
            host: n.name.clone(),
            port: 7050,
            client_tls_cert: net.server_tls(n),
            server_tls_cert: net.server_tls(n),
        })
        .collect();
    assert_eq!(want.len(), ws.orderer.count as usize);
    assert_eq!(
        raft.consenters, want,
        "consenters = every orderer's tls/server.crt"
    );
    assert_eq!(
        raft.options,
        Some(etcdraft::Options {
            tick_interval: "500ms".into(),
            election_tick: 10,
            heartbeat_tick: 1,
            max_inflight_blocks: 5,
            snapshot_interval_size: 16 * 1024 * 1024,
        })
    );

    // Orderer org.
    assert_eq!(keys(&orderer.groups), [ws.orderer.name.as_str()]);
    let oorg = b.group(&["Orderer", &ws.orderer.name]);
    let omsp = &ws.orderer.msp_id;
    assert_eq!(keys(&oorg.values), ["Endpoints", "MSP"]);
    assert_eq!(keys(&oorg.policies), ["Admins", "Readers", "Writers"]);
    assert_eq!(or_principals(oorg, "Readers"), [format!("{omsp}.MEMBER")]);
    assert_eq!(or_principals(oorg, "Writers"), [format!("{omsp}.MEMBER")]);
    assert_eq!(or_principals(oorg, "Admins"), [format!("{omsp}.ADMIN")]);
    let endpoints: common::OrdererAddresses = value(oorg, "Endpoints");
    let want: Vec<String> = net
        .topo
        .orderers()
        .map(|n| format!("{}:7050", n.name))
        .collect();
    assert_eq!(endpoints.addresses, want);
    assert_msp(net, oorg, &ws.orderer.name, omsp);

    // Application group.
    let app = b.group(&["Application"]);
    assert_eq!(
        keys(&app.policies),
        [
            "Admins",
            "Endorsement",
            "LifecycleEndorsement",
            "Readers",
            "Writers"
        ]
    );
    assert_eq!(implicit(app, "Readers"), "ANY Readers");
    assert_eq!(implicit(app, "Writers"), "ANY Writers");
    assert_eq!(implicit(app, "Admins"), "MAJORITY Admins");
    assert_eq!(
        implicit(app, "LifecycleEndorsement"),
        "MAJORITY Endorsement"
    );
    assert_eq!(implicit(app, "Endorsement"), "MAJORITY Endorsement");
    assert_eq!(keys(&app.values), ["Capabilities"], "no ACLs value");
    assert_eq!(capabilities(app), ["V2_5"]);
    let spec = ws.channel(channel).expect("channel in workspace");
    let mut want_orgs: Vec<&str> = spec.orgs.iter().map(String::as_str).collect();
    want_orgs.sort();
    assert_eq!(keys(&app.groups), want_orgs);
    for org_name in &spec.orgs {
        let org = ws.org(org_name).expect("org");
        let g = b.group(&["Application", org_name]);
        let m = &org.msp_id;
        let want_values: &[&str] = if org.anchor_peers.is_empty() {
            &["MSP"]
        } else {
            &["AnchorPeers", "MSP"]
        };
        assert_eq!(keys(&g.values), want_values);
        assert_eq!(
            keys(&g.policies),
            ["Admins", "Endorsement", "Readers", "Writers"]
        );
        assert_eq!(
            or_principals(g, "Readers"),
            [
                format!("{m}.ADMIN"),
                format!("{m}.PEER"),
                format!("{m}.CLIENT")
            ]
        );
        assert_eq!(
            or_principals(g, "Writers"),
            [format!("{m}.ADMIN"), format!("{m}.CLIENT")]
        );
        assert_eq!(or_principals(g, "Admins"), [format!("{m}.ADMIN")]);
        assert_eq!(or_principals(g, "Endorsement"), [format!("{m}.PEER")]);
        if !org.anchor_peers.is_empty() {
            let anchors: peer::AnchorPeers = value(g, "AnchorPeers");
            let want: Vec<peer::AnchorPeer> = org
                .anchor_peers
                .iter()
                .map(|i| peer::AnchorPeer {
                    host: format!("peer{i}-{}", org_name.to_lowercase()),
                    port: 7051,
                })
                .collect();
            assert_eq!(anchors.anchor_peers, want);
        }
        assert_msp(net, g, org_name, m);
    }
    b
}

// ---------------------------------------------------------------------------
// describe_block
// ---------------------------------------------------------------------------

/// Replace certificates by the file they came from and hashes by a marker,
/// so the snapshot does not depend on the (random) crypto.
fn redact(v: &mut Value, pems: &BTreeMap<String, String>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m.iter_mut() {
                if matches!(k.as_str(), "data_hash" | "tx_id" | "nonce") {
                    if let Value::String(s) = child {
                        *s = format!("[{} hex digits]", s.len());
                    }
                } else {
                    redact(child, pems);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|c| redact(c, pems)),
        Value::String(s) if s.starts_with("-----BEGIN") => {
            *s = match pems.get(s.as_str()) {
                Some(file) => format!("[PEM of {file}]"),
                None => "[PEM of an unexpected file]".to_string(),
            };
        }
        _ => {}
    }
}

#[test]
fn describe_default_block_snapshot() {
    let net = Net::new(Workspace::default_network());
    let bytes = net.block("mychannel");
    let mut v = describe_block(&bytes).expect("describe");

    // Spot checks before redaction.
    let env = &v["data"]["data"][0];
    assert_eq!(env["payload"]["header"]["channel_header"]["type"], "CONFIG");
    let b = Parsed::new(&bytes);
    assert_eq!(
        env["payload"]["header"]["channel_header"]["tx_id"],
        b.chdr.tx_id
    );
    assert_eq!(
        v["header"]["data_hash"],
        hex::encode(&b.block.header.as_ref().expect("header").data_hash)
    );
    let consenter = &env["payload"]["data"]["config"]["channel_group"]["groups"]["Orderer"]["values"]
        ["ConsensusType"]["value"]["metadata"]["consenters"][0];
    let tls = String::from_utf8(net.server_tls(&net.topo.nodes[0])).expect("PEM text");
    assert_eq!(consenter["server_tls_cert"], tls.as_str());

    let mut pems = BTreeMap::new();
    for org in ["OrdererOrg", "Org1", "Org2"] {
        let k = network::topology::k8s_org(org);
        pems.insert(
            String::from_utf8(net.ca(org)).expect("utf8"),
            format!("{k}/msp/cacerts/ca.crt"),
        );
        pems.insert(
            String::from_utf8(net.tlsca(org)).expect("utf8"),
            format!("{k}/msp/tlscacerts/tlsca.crt"),
        );
    }
    for n in net.topo.orderers() {
        pems.insert(
            String::from_utf8(net.server_tls(n)).expect("utf8"),
            format!("ordererorg/nodes/{}/tls/server.crt", n.name),
        );
    }
    redact(&mut v, &pems);
    insta::assert_snapshot!("default", serde_json::to_string_pretty(&v).expect("json"));
}

#[test]
fn describe_rejects_garbage() {
    let err = describe_block(b"\xff\xff\xff").expect_err("not a block");
    assert!(matches!(err, GenesisError::Decode { .. }), "{err}");
    assert!(err.to_string().contains("block"), "{err}");
}
