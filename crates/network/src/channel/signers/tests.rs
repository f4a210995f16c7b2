use std::path::Path;

use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{DerSignature, VerifyingKey};

use super::*;
use crate::channel::admin_signer;
use crate::configtx::{compute_update, modified_items};
use crate::fabric::{msp, orderer};
use crate::pki::{self, CryptoDir};
use crate::{Topology, Workspace};

/// A network of `orgs` peer orgs on `mychannel`, its crypto in `dir`, and
/// the channel's genesis config.
fn network(dir: &Path, orgs: usize) -> (Workspace, CryptoDir, common::Config) {
    let names: Vec<String> = (1..=orgs).map(|i| format!("Org{i}")).collect();
    let text = format!(
        "apiVersion: fabdev/v1alpha1\nkind: Workspace\nname: signers\norgs:\n{}channels:\n  - {{ name: mychannel, orgs: [{}] }}\n",
        names
            .iter()
            .map(|n| format!("  - {{ name: {n}, peers: 1 }}\n"))
            .collect::<String>(),
        names.join(", ")
    );
    let ws = Workspace::parse(&text, Path::new("fabdev.yaml"), Path::new(".")).unwrap();
    let topo = Topology::of(&ws);
    let crypto = CryptoDir::new(dir.join("crypto"));
    pki::ensure(&ws, &topo, &crypto).unwrap();
    let block = crate::genesis::genesis_block(&ws, &topo, &crypto, "mychannel").unwrap();
    let config = crate::configtx::config_from_block(&block).unwrap();
    (ws, crypto, config)
}

fn policies(paths: &[&str]) -> Vec<String> {
    paths.iter().map(ToString::to_string).collect()
}

#[test]
fn the_orderer_admins_policy_needs_the_orderer_org() {
    let dir = tempfile::tempdir().unwrap();
    let (_, _, config) = network(dir.path(), 2);
    let got = required_signers(
        &config,
        &policies(&["/Channel/Orderer/Admins"]),
        "mychannel",
    )
    .unwrap();
    assert_eq!(got, ["OrdererOrgMSP"]);
}

#[test]
fn a_majority_of_the_application_orgs() {
    let dir = tempfile::tempdir().unwrap();
    let (_, _, two) = network(dir.path(), 2);
    let p = policies(&["/Channel/Application/Admins"]);
    // MAJORITY of 2 is 2.
    assert_eq!(
        required_signers(&two, &p, "mychannel").unwrap(),
        ["Org1MSP", "Org2MSP"]
    );
    let dir = tempfile::tempdir().unwrap();
    let (_, _, three) = network(dir.path(), 3);
    // MAJORITY of 3 is 2, the first in name order.
    assert_eq!(
        required_signers(&three, &p, "mychannel").unwrap(),
        ["Org1MSP", "Org2MSP"]
    );
    // An org already needed for another policy is preferred.
    let both = policies(&[
        "/Channel/Application/Org3/Admins",
        "/Channel/Application/Admins",
    ]);
    assert_eq!(
        required_signers(&three, &both, "mychannel").unwrap(),
        ["Org1MSP", "Org3MSP"]
    );
}

#[test]
fn an_orgs_own_admins_policy() {
    let dir = tempfile::tempdir().unwrap();
    let (_, _, config) = network(dir.path(), 3);
    let p = policies(&["/Channel/Application/Org2/Admins"]);
    assert_eq!(
        required_signers(&config, &p, "mychannel").unwrap(),
        ["Org2MSP"]
    );
    // The root's Admins: MAJORITY of Application and Orderer, each theirs.
    let p = policies(&["/Channel/Admins"]);
    assert_eq!(
        required_signers(&config, &p, "mychannel").unwrap(),
        ["OrdererOrgMSP", "Org1MSP", "Org2MSP"]
    );
}

#[test]
fn policies_no_admin_satisfies_are_refused_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let (_, _, config) = network(dir.path(), 2);
    for (path, why) in [
        ("/Channel/Application/Org9/Admins", "no group Org9"),
        ("/Channel/Application/Nope", "no policy Nope"),
        ("/Other/Admins", "does not start with /Channel"),
        // An org's Endorsement policy needs its peers, not its admins.
        (
            "/Channel/Application/Org1/Endorsement",
            "not one an admin has",
        ),
        (
            "/Channel/Application/Endorsement",
            "2 of 2 sub-groups' Endorsement policies are needed, 0",
        ),
    ] {
        let e = required_signers(&config, &policies(&[path]), "mychannel").unwrap_err();
        let text = e.to_string();
        assert!(
            matches!(e, ChannelError::PolicyUnsatisfiable { .. })
                && text.contains(path)
                && text.contains(why)
                && text.contains("mychannel"),
            "{path}: {text}"
        );
    }
}

#[test]
fn signers_for_a_batch_timeout_change() {
    let dir = tempfile::tempdir().unwrap();
    let (_, _, current) = network(dir.path(), 2);
    let mut wanted = current.clone();
    set_batch_timeout(&mut wanted, "5s");
    let update = compute_update(&current, &wanted, "mychannel").unwrap();
    let paths: Vec<String> = modified_items(&current, &update)
        .unwrap()
        .into_iter()
        .map(|m| m.policy_path)
        .collect();
    assert_eq!(paths, ["/Channel/Orderer/Admins"]);
    assert_eq!(
        required_signers(&current, &paths, "mychannel").unwrap(),
        ["OrdererOrgMSP"]
    );
}

fn set_batch_timeout(config: &mut common::Config, timeout: &str) {
    let value = config
        .channel_group
        .as_mut()
        .and_then(|g| g.groups.get_mut("Orderer"))
        .and_then(|g| g.values.get_mut("BatchTimeout"))
        .unwrap();
    value.value = crate::fabric::encode(&orderer::BatchTimeout {
        timeout: timeout.to_string(),
    });
}

/// Verifies a DER ECDSA signature over `message` with the public key of
/// the PEM certificate in `creator` (a serialized identity).
fn verify(creator: &[u8], message: &[u8], signature: &[u8]) -> String {
    let id = msp::SerializedIdentity::decode(creator).unwrap();
    let (_, pem) = x509_parser::pem::parse_x509_pem(&id.id_bytes).unwrap();
    let cert = pem.parse_x509().unwrap();
    let key = VerifyingKey::from_sec1_bytes(&cert.public_key().subject_public_key.data).unwrap();
    let sig = DerSignature::from_bytes(signature).unwrap();
    key.verify(message, &sig).unwrap();
    // Fabric refuses high-S signatures.
    let sig = p256::ecdsa::Signature::from_der(signature).unwrap();
    assert_eq!(sig.normalize_s(), sig, "a high-S signature");
    id.mspid
}

#[test]
fn a_signed_update_carries_each_signers_signature_in_a_config_update_envelope() {
    let dir = tempfile::tempdir().unwrap();
    let (ws, crypto, current) = network(dir.path(), 2);
    let mut wanted = current.clone();
    set_batch_timeout(&mut wanted, "5s");
    let update = compute_update(&current, &wanted, "mychannel").unwrap();
    let org1 = admin_signer(&ws, &crypto, "Org1").unwrap();
    let org2 = admin_signer(&ws, &crypto, "Org2").unwrap();
    let orderer = admin_signer(&ws, &crypto, "OrdererOrg").unwrap();

    let env = signed_update(&update, &[orderer.clone(), org2], &org1).unwrap();

    let payload = common::Payload::decode(env.payload.as_slice()).unwrap();
    let header = payload.header.unwrap();
    let ch = common::ChannelHeader::decode(header.channel_header.as_slice()).unwrap();
    assert_eq!(ch.r#type, common::HeaderType::ConfigUpdate as i32);
    assert_eq!(ch.channel_id, "mychannel");
    assert!(!ch.tx_id.is_empty());
    let sh = common::SignatureHeader::decode(header.signature_header.as_slice()).unwrap();
    assert_eq!(verify(&sh.creator, &env.payload, &env.signature), "Org1MSP");

    let cue = common::ConfigUpdateEnvelope::decode(payload.data.as_slice()).unwrap();
    assert_eq!(cue.config_update, update.encode_to_vec());
    let signed_by: Vec<String> = cue
        .signatures
        .iter()
        .map(|s| {
            let sh = common::SignatureHeader::decode(s.signature_header.as_slice()).unwrap();
            assert_eq!(sh.nonce.len(), 24, "a nonce per signature");
            // Fabric verifies the signature header's bytes followed by the
            // update's (protoutil.ConfigSignature.AsSignedData).
            let mut message = s.signature_header.clone();
            message.extend_from_slice(&cue.config_update);
            verify(&sh.creator, &message, &s.signature)
        })
        .collect();
    assert_eq!(signed_by, ["OrdererOrgMSP", "Org2MSP"]);
}

#[test]
fn an_unknown_org_has_no_signer() {
    let dir = tempfile::tempdir().unwrap();
    let (ws, crypto, _) = network(dir.path(), 1);
    let e = admin_signer(&ws, &crypto, "Org7").unwrap_err();
    assert!(e.to_string().contains("Org7"), "{e}");
    std::fs::remove_file(
        crypto
            .user_dir("Org1", pki::ADMIN)
            .join("msp/keystore/key.pem"),
    )
    .unwrap();
    let e = admin_signer(&ws, &crypto, "Org1").unwrap_err();
    assert!(
        matches!(e, ChannelError::Crypto { .. }) && e.to_string().contains("key.pem"),
        "{e}"
    );
}

fn block_with(metadata: Vec<Vec<u8>>) -> common::Block {
    common::Block {
        header: None,
        data: None,
        metadata: Some(common::BlockMetadata { metadata }),
    }
}

fn metadata(value: Vec<u8>) -> Vec<u8> {
    common::Metadata {
        value,
        signatures: vec![],
    }
    .encode_to_vec()
}

#[test]
fn the_last_config_index_from_a_blocks_metadata() {
    // Fabric 2.x/3.x: OrdererBlockMetadata in SIGNATURES.
    let signatures = metadata(
        common::OrdererBlockMetadata {
            last_config: Some(common::LastConfig { index: 7 }),
            consenter_metadata: vec![1, 2],
        }
        .encode_to_vec(),
    );
    assert_eq!(
        last_config_index(&block_with(vec![signatures, vec![]]), "c").unwrap(),
        7
    );
    // Older blocks: the LAST_CONFIG entry.
    let last = metadata(common::LastConfig { index: 3 }.encode_to_vec());
    assert_eq!(
        last_config_index(&block_with(vec![metadata(vec![]), last]), "c").unwrap(),
        3
    );
    for bad in [block_with(vec![]), common::Block::default()] {
        let e = last_config_index(&bad, "mychannel")
            .unwrap_err()
            .to_string();
        assert!(e.contains("mychannel") && e.contains("config"), "{e}");
    }
}
