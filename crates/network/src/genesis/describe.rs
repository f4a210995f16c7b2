//! Decoding a block all the way down, for tests, debugging and comparison
//! with configtxlator's JSON. Nothing in fabdev's own flows needs it: it is
//! kept apart from the building of blocks in the parent module.

use serde_json::{Map, Value, json};

use super::*;
use crate::fabric::{Message, msp};

/// A block decoded all the way down, for tests, debugging and comparison
/// with configtxlator's JSON: the payload, its headers, the config envelope,
/// every config group with its values and policies decoded to their
/// messages, consenter and MSP certificates as PEM text, hashes and other
/// opaque bytes as hex, enums by their proto names. Field names are the
/// proto field names, as configtxlator prints them.
pub fn describe_block(block: &[u8]) -> Result<Value, GenesisError> {
    let block: common::Block = decode(block, "block")?;
    let header = block.header.unwrap_or_default();
    let envelopes = block
        .data
        .unwrap_or_default()
        .data
        .iter()
        .enumerate()
        .map(|(i, env)| describe_envelope(i, env))
        .collect::<Result<Vec<_>, _>>()?;
    let metadata = block
        .metadata
        .unwrap_or_default()
        .metadata
        .iter()
        .enumerate()
        .map(|(i, m)| describe_metadata(i, m))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json!({
        "header": {
            "number": header.number,
            "previous_hash": hex::encode(&header.previous_hash),
            "data_hash": hex::encode(&header.data_hash),
        },
        "data": { "data": envelopes },
        "metadata": { "metadata": metadata },
    }))
}

fn decode<M: Message + Default>(bytes: &[u8], what: &str) -> Result<M, GenesisError> {
    M::decode(bytes).map_err(|source| GenesisError::Decode {
        what: what.to_string(),
        source,
    })
}

/// Certificate bytes as their PEM text (hex when they are not text).
fn pem_text(bytes: &[u8]) -> Value {
    match std::str::from_utf8(bytes) {
        Ok(s) => Value::String(s.to_string()),
        Err(_) => Value::String(hex::encode(bytes)),
    }
}

fn pems(list: &[Vec<u8>]) -> Value {
    Value::Array(list.iter().map(|c| pem_text(c)).collect())
}

fn enum_name<E: TryFrom<i32>>(value: i32, name: impl Fn(E) -> &'static str) -> Value {
    match E::try_from(value) {
        Ok(e) => Value::String(name(e).to_string()),
        Err(_) => Value::from(value),
    }
}

fn describe_envelope(i: usize, bytes: &[u8]) -> Result<Value, GenesisError> {
    let env: common::Envelope = decode(bytes, &format!("envelope {i}"))?;
    let payload: common::Payload = decode(&env.payload, &format!("payload of envelope {i}"))?;
    let header = payload.header.unwrap_or_default();
    let chdr: common::ChannelHeader = decode(&header.channel_header, "channel header")?;
    let shdr: common::SignatureHeader = decode(&header.signature_header, "signature header")?;
    let data = if chdr.r#type == common::HeaderType::Config as i32 {
        let ce: common::ConfigEnvelope = decode(&payload.data, "config envelope")?;
        let config = match ce.config {
            Some(c) => json!({
                "sequence": c.sequence,
                "channel_group": match &c.channel_group {
                    Some(g) => describe_group(g)?,
                    None => Value::Null,
                },
            }),
            None => Value::Null,
        };
        let last_update = ce
            .last_update
            .map(|e| json!({ "payload": hex::encode(e.payload), "signature": hex::encode(e.signature) }))
            .unwrap_or(Value::Null);
        json!({ "config": config, "last_update": last_update })
    } else {
        Value::String(hex::encode(&payload.data))
    };
    Ok(json!({
        "payload": {
            "header": {
                "channel_header": {
                    "type": enum_name(chdr.r#type, |t: common::HeaderType| t.as_str_name()),
                    "version": chdr.version,
                    "timestamp": chdr.timestamp.map(|t| json!({ "seconds": t.seconds, "nanos": t.nanos })),
                    "channel_id": chdr.channel_id,
                    "tx_id": chdr.tx_id,
                    "epoch": chdr.epoch,
                    "extension": hex::encode(&chdr.extension),
                    "tls_cert_hash": hex::encode(&chdr.tls_cert_hash),
                },
                "signature_header": {
                    "creator": pem_or_hex_identity(&shdr.creator),
                    "nonce": hex::encode(&shdr.nonce),
                },
            },
            "data": data,
        },
        "signature": hex::encode(&env.signature),
    }))
}

/// A SerializedIdentity (MSP ID and certificate), or hex if it is not one.
fn pem_or_hex_identity(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        return Value::String(String::new());
    }
    match msp::SerializedIdentity::decode(bytes) {
        Ok(id) => json!({ "mspid": id.mspid, "id_bytes": pem_text(&id.id_bytes) }),
        Err(_) => Value::String(hex::encode(bytes)),
    }
}

fn describe_metadata(i: usize, bytes: &[u8]) -> Result<Value, GenesisError> {
    let name = i32::try_from(i)
        .ok()
        .and_then(|i| common::BlockMetadataIndex::try_from(i).ok())
        .map(|m| m.as_str_name());
    let what = format!("block metadata {i}");
    let value = match i {
        SIGNATURES_INDEX | LAST_CONFIG_INDEX => {
            let md: common::Metadata = decode(bytes, &what)?;
            let value = if i == SIGNATURES_INDEX {
                let obm: common::OrdererBlockMetadata = decode(&md.value, "OrdererBlockMetadata")?;
                json!({
                    "last_config": obm.last_config.map(|l| json!({ "index": l.index })),
                    "consenter_metadata": hex::encode(&obm.consenter_metadata),
                })
            } else {
                let lc: common::LastConfig = decode(&md.value, "LastConfig")?;
                json!({ "index": lc.index })
            };
            let signatures = md
                .signatures
                .iter()
                .map(|s| {
                    json!({
                        "signature_header": hex::encode(&s.signature_header),
                        "signature": hex::encode(&s.signature),
                        "identifier_header": hex::encode(&s.identifier_header),
                    })
                })
                .collect::<Vec<_>>();
            json!({ "value": value, "signatures": signatures })
        }
        _ => Value::String(hex::encode(bytes)),
    };
    Ok(json!({ "index": i, "name": name, "metadata": value }))
}

fn describe_group(g: &common::ConfigGroup) -> Result<Value, GenesisError> {
    let mut groups = Map::new();
    for (k, sub) in &g.groups {
        groups.insert(k.clone(), describe_group(sub)?);
    }
    let mut values = Map::new();
    for (k, v) in &g.values {
        values.insert(
            k.clone(),
            json!({
                "version": v.version,
                "mod_policy": v.mod_policy,
                "value": describe_value(k, &v.value)?,
            }),
        );
    }
    let mut policies = Map::new();
    for (k, p) in &g.policies {
        let policy = match &p.policy {
            Some(p) => describe_policy(k, p)?,
            None => Value::Null,
        };
        policies.insert(
            k.clone(),
            json!({ "version": p.version, "mod_policy": p.mod_policy, "policy": policy }),
        );
    }
    Ok(json!({
        "version": g.version,
        "mod_policy": g.mod_policy,
        "groups": groups,
        "values": values,
        "policies": policies,
    }))
}

fn describe_value(key: &str, bytes: &[u8]) -> Result<Value, GenesisError> {
    let what = format!("config value {key}");
    Ok(match key {
        HASHING_ALGORITHM => {
            let v: common::HashingAlgorithm = decode(bytes, &what)?;
            json!({ "name": v.name })
        }
        BLOCK_DATA_HASHING_STRUCTURE => {
            let v: common::BlockDataHashingStructure = decode(bytes, &what)?;
            json!({ "width": v.width })
        }
        CAPABILITIES => {
            let v: common::Capabilities = decode(bytes, &what)?;
            let names: std::collections::BTreeMap<_, _> = v
                .capabilities
                .keys()
                .map(|k| (k.clone(), json!({})))
                .collect();
            json!({ "capabilities": names })
        }
        "OrdererAddresses" | ENDPOINTS => {
            let v: common::OrdererAddresses = decode(bytes, &what)?;
            json!({ "addresses": v.addresses })
        }
        "Consortium" => {
            let v: common::Consortium = decode(bytes, &what)?;
            json!({ "name": v.name })
        }
        BATCH_SIZE => {
            let v: fabric::orderer::BatchSize = decode(bytes, &what)?;
            json!({
                "max_message_count": v.max_message_count,
                "absolute_max_bytes": v.absolute_max_bytes,
                "preferred_max_bytes": v.preferred_max_bytes,
            })
        }
        BATCH_TIMEOUT => {
            let v: fabric::orderer::BatchTimeout = decode(bytes, &what)?;
            json!({ "timeout": v.timeout })
        }
        CHANNEL_RESTRICTIONS => {
            let v: fabric::orderer::ChannelRestrictions = decode(bytes, &what)?;
            json!({ "max_count": v.max_count })
        }
        CONSENSUS_TYPE => {
            let v: fabric::orderer::ConsensusType = decode(bytes, &what)?;
            let metadata = if v.r#type == CONSENSUS_ETCDRAFT {
                describe_raft(&v.metadata)?
            } else if v.r#type == CONSENSUS_BFT {
                describe_bft(&v.metadata)?
            } else {
                Value::String(hex::encode(&v.metadata))
            };
            json!({
                "type": v.r#type,
                "metadata": metadata,
                "state": enum_name(v.state, |s: fabric::orderer::consensus_type::State| s.as_str_name()),
            })
        }
        MSP => describe_msp(bytes)?,
        "Orderers" => {
            let v: common::Orderers = decode(bytes, &what)?;
            let mapping = v
                .consenter_mapping
                .iter()
                .map(|c| {
                    json!({
                        "id": c.id,
                        "host": c.host,
                        "port": c.port,
                        "msp_id": c.msp_id,
                        "identity": pem_text(&c.identity),
                        "client_tls_cert": pem_text(&c.client_tls_cert),
                        "server_tls_cert": pem_text(&c.server_tls_cert),
                    })
                })
                .collect::<Vec<_>>();
            json!({ "consenter_mapping": mapping })
        }
        ANCHOR_PEERS => {
            let v: fabric::peer::AnchorPeers = decode(bytes, &what)?;
            let peers = v
                .anchor_peers
                .iter()
                .map(|p| json!({ "host": p.host, "port": p.port }))
                .collect::<Vec<_>>();
            json!({ "anchor_peers": peers })
        }
        _ => json!({ "unknown": hex::encode(bytes) }),
    })
}

fn describe_raft(bytes: &[u8]) -> Result<Value, GenesisError> {
    let md: etcdraft::ConfigMetadata = decode(bytes, "etcdraft ConfigMetadata")?;
    let consenters = md
        .consenters
        .iter()
        .map(|c| {
            json!({
                "host": c.host,
                "port": c.port,
                "client_tls_cert": pem_text(&c.client_tls_cert),
                "server_tls_cert": pem_text(&c.server_tls_cert),
            })
        })
        .collect::<Vec<_>>();
    let options = md.options.map(|o| {
        json!({
            "tick_interval": o.tick_interval,
            "election_tick": o.election_tick,
            "heartbeat_tick": o.heartbeat_tick,
            "max_inflight_blocks": o.max_inflight_blocks,
            "snapshot_interval_size": o.snapshot_interval_size,
        })
    });
    Ok(json!({ "consenters": consenters, "options": options }))
}

fn describe_bft(bytes: &[u8]) -> Result<Value, GenesisError> {
    let o: crate::fabric::smartbft::Options = decode(bytes, "smartbft Options")?;
    Ok(json!({
        "request_batch_max_count": o.request_batch_max_count,
        "request_batch_max_bytes": o.request_batch_max_bytes,
        "request_batch_max_interval": o.request_batch_max_interval,
        "incoming_message_buffer_size": o.incoming_message_buffer_size,
        "request_pool_size": o.request_pool_size,
        "request_forward_timeout": o.request_forward_timeout,
        "request_complain_timeout": o.request_complain_timeout,
        "request_auto_remove_timeout": o.request_auto_remove_timeout,
        "request_max_bytes": o.request_max_bytes,
        "view_change_resend_interval": o.view_change_resend_interval,
        "view_change_timeout": o.view_change_timeout,
        "leader_heartbeat_timeout": o.leader_heartbeat_timeout,
        "leader_heartbeat_count": o.leader_heartbeat_count,
        "collect_timeout": o.collect_timeout,
        "sync_on_start": o.sync_on_start,
        "speed_up_view_change": o.speed_up_view_change,
        "leader_rotation": enum_name(o.leader_rotation, |r: crate::fabric::smartbft::options::Rotation| r.as_str_name()),
        "decisions_per_leader": o.decisions_per_leader,
    }))
}

fn describe_ou(ou: &Option<msp::FabricOuIdentifier>) -> Value {
    match ou {
        Some(o) => json!({
            "certificate": pem_text(&o.certificate),
            "organizational_unit_identifier": o.organizational_unit_identifier,
        }),
        None => Value::Null,
    }
}

fn describe_msp(bytes: &[u8]) -> Result<Value, GenesisError> {
    let msp: msp::MspConfig = decode(bytes, "MSPConfig")?;
    if msp.r#type != MSP_TYPE_FABRIC {
        return Ok(json!({ "type": msp.r#type, "config": hex::encode(&msp.config) }));
    }
    let c: msp::FabricMspConfig = decode(&msp.config, "FabricMSPConfig")?;
    let ous = c
        .organizational_unit_identifiers
        .iter()
        .map(|o| describe_ou(&Some(o.clone())))
        .collect::<Vec<_>>();
    let node_ous = c.fabric_node_ous.as_ref().map(|n| {
        json!({
            "enable": n.enable,
            "client_ou_identifier": describe_ou(&n.client_ou_identifier),
            "peer_ou_identifier": describe_ou(&n.peer_ou_identifier),
            "admin_ou_identifier": describe_ou(&n.admin_ou_identifier),
            "orderer_ou_identifier": describe_ou(&n.orderer_ou_identifier),
        })
    });
    Ok(json!({
        "type": msp.r#type,
        "config": {
            "name": c.name,
            "root_certs": pems(&c.root_certs),
            "intermediate_certs": pems(&c.intermediate_certs),
            "admins": pems(&c.admins),
            "revocation_list": pems(&c.revocation_list),
            "signing_identity": c.signing_identity.map(|_| "present"),
            "organizational_unit_identifiers": ous,
            "crypto_config": c.crypto_config.map(|cc| json!({
                "signature_hash_family": cc.signature_hash_family,
                "identity_identifier_hash_function": cc.identity_identifier_hash_function,
            })),
            "tls_root_certs": pems(&c.tls_root_certs),
            "tls_intermediate_certs": pems(&c.tls_intermediate_certs),
            "fabric_node_ous": node_ous,
        },
    }))
}

fn describe_policy(key: &str, p: &common::Policy) -> Result<Value, GenesisError> {
    use common::policy::PolicyType;
    let what = format!("policy {key}");
    let value = match PolicyType::try_from(p.r#type) {
        Ok(PolicyType::ImplicitMeta) => {
            let v: common::ImplicitMetaPolicy = decode(&p.value, &what)?;
            json!({
                "sub_policy": v.sub_policy,
                "rule": enum_name(v.rule, |r: common::implicit_meta_policy::Rule| r.as_str_name()),
            })
        }
        Ok(PolicyType::Signature) => {
            let v: common::SignaturePolicyEnvelope = decode(&p.value, &what)?;
            let identities = v
                .identities
                .iter()
                .map(describe_principal)
                .collect::<Result<Vec<_>, _>>()?;
            json!({
                "version": v.version,
                "rule": v.rule.as_ref().map(describe_rule),
                "identities": identities,
            })
        }
        _ => Value::String(hex::encode(&p.value)),
    };
    Ok(json!({
        "type": enum_name(p.r#type, |t: PolicyType| t.as_str_name()),
        "value": value,
    }))
}

fn describe_rule(rule: &common::SignaturePolicy) -> Value {
    use common::signature_policy::Type;
    match &rule.r#type {
        Some(Type::SignedBy(i)) => json!({ "signed_by": i }),
        Some(Type::NOutOf(n)) => json!({
            "n_out_of": {
                "n": n.n,
                "rules": n.rules.iter().map(describe_rule).collect::<Vec<_>>(),
            }
        }),
        None => Value::Null,
    }
}

fn describe_principal(p: &common::MspPrincipal) -> Result<Value, GenesisError> {
    use common::msp_principal::Classification;
    let principal = if p.principal_classification == Classification::Role as i32 {
        let role: common::MspRole = decode(&p.principal, "MSPRole")?;
        json!({
            "msp_identifier": role.msp_identifier,
            "role": enum_name(role.role, |r: common::msp_role::MspRoleType| r.as_str_name()),
        })
    } else if p.principal_classification == Classification::Identity as i32 {
        let id: msp::SerializedIdentity = decode(&p.principal, "SerializedIdentity")?;
        json!({ "mspid": id.mspid, "id_bytes": pem_text(&id.id_bytes) })
    } else {
        Value::String(hex::encode(&p.principal))
    };
    Ok(json!({
        "principal_classification": enum_name(p.principal_classification, |c: Classification| c.as_str_name()),
        "principal": principal,
    }))
}
