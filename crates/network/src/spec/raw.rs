//! The raw, span-aware form of the file: it mirrors fabdev.yaml field by
//! field (unknown fields rejected) and keeps where each value was written,
//! for the rules' messages.

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{Lang, StateDatabase};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawWorkspace {
    pub(super) api_version: Spanned<String>,
    pub(super) kind: Spanned<String>,
    pub(super) name: Option<Spanned<String>>,
    pub(super) fabric: Option<RawFabric>,
    pub(super) orderer: Option<RawOrderer>,
    pub(super) orgs: Option<Spanned<Vec<RawOrg>>>,
    pub(super) channels: Option<Spanned<Vec<RawChannel>>>,
    #[serde(default)]
    pub(super) chaincodes: Vec<RawChaincode>,
    pub(super) images: Option<RawImages>,
    pub(super) host_port_base: Option<Spanned<u16>>,
    pub(super) cluster: Option<Spanned<RawCluster>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawCluster {
    pub(super) provider: Option<Spanned<String>>,
    pub(super) kubeconfig: Option<Spanned<String>>,
    pub(super) context: Option<Spanned<String>>,
    pub(super) kind: Option<Spanned<RawKindCluster>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawKindCluster {
    pub(super) provider: Option<Spanned<String>>,
    pub(super) node_image: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawFabric {
    pub(super) version: Option<Spanned<String>>,
    pub(super) batch_timeout_ms: Option<Spanned<u32>>,
    pub(super) batch_size: Option<Spanned<RawBatchSize>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawBatchSize {
    pub(super) max_message_count: Option<Spanned<u32>>,
    pub(super) absolute_max_bytes: Option<Spanned<u32>>,
    pub(super) preferred_max_bytes: Option<Spanned<u32>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawOrderer {
    pub(super) org: Option<Spanned<String>>,
    pub(super) msp_id: Option<Spanned<String>>,
    pub(super) count: Option<Spanned<u32>>,
    pub(super) consensus: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawOrg {
    pub(super) name: Spanned<String>,
    pub(super) msp_id: Option<Spanned<String>>,
    pub(super) peers: Option<Spanned<u32>>,
    pub(super) state_database: Option<StateDatabase>,
    pub(super) anchor_peers: Option<Spanned<Vec<Spanned<String>>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawChannel {
    pub(super) name: Spanned<String>,
    pub(super) orgs: Option<Spanned<Vec<Spanned<String>>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawChaincode {
    pub(super) name: Spanned<String>,
    pub(super) path: Spanned<String>,
    pub(super) channel: Option<Spanned<String>>,
    pub(super) lang: Option<Spanned<Lang>>,
    pub(super) version: Option<Spanned<String>>,
    pub(super) label: Option<Spanned<String>>,
    pub(super) init_required: Option<Spanned<bool>>,
    pub(super) init_args: Option<Spanned<Vec<String>>>,
    pub(super) signature_policy: Option<Spanned<String>>,
    pub(super) channel_config_policy: Option<Spanned<String>>,
    pub(super) collections: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawImages {
    pub(super) peer: Option<Spanned<String>>,
    pub(super) orderer: Option<Spanned<String>>,
    pub(super) ccenv: Option<Spanned<String>>,
    pub(super) baseos: Option<Spanned<String>>,
    pub(super) nodeenv: Option<Spanned<String>>,
    pub(super) dind: Option<Spanned<String>>,
    pub(super) couchdb: Option<Spanned<String>>,
}
