//! The `_lifecycle` arguments and the reading of its answers, as pure
//! functions over plain values (checked by the recorded lifecycle vectors).

use std::collections::BTreeMap;

use fabric_sdk::fabric::lifecycle::{
    ApproveChaincodeDefinitionForMyOrgArgs, ChaincodeSource, CheckCommitReadinessArgs,
    CommitChaincodeDefinitionArgs, QueryApprovedChaincodeDefinitionResult,
    QueryChaincodeDefinitionResult, QueryInstalledChaincodesResult, chaincode_source,
};
use fabric_sdk::fabric::protos::CollectionConfigPackage;
use prost::Message as _;

/// A chaincode definition as the lifecycle knows it (what an org approves
/// and what a channel commits). Plugins are left empty, as the peer CLI
/// leaves them (the peer fills in escc and vscc); the validation parameter
/// is always sent, so that what an org approved compares byte for byte
/// with what fabdev would approve (the peer fills an empty one in with a
/// reference to `/Channel/Application/Endorsement`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Definition {
    pub name: String,
    pub version: String,
    pub sequence: i64,
    pub init_required: bool,
    /// The encoded `ApplicationPolicy` endorsements are validated against
    /// (see `crate::policy::EndorsementPolicy::validation_parameter`).
    pub validation_parameter: Vec<u8>,
    /// The encoded `CollectionConfigPackage`; empty when there are none.
    pub collections: Vec<u8>,
}

/// The collections argument of a definition: none for empty bytes.
pub(super) fn collections_arg(
    bytes: &[u8],
) -> Result<Option<CollectionConfigPackage>, prost::DecodeError> {
    if bytes.is_empty() {
        return Ok(None);
    }
    CollectionConfigPackage::decode(bytes).map(Some)
}

/// The collections a peer reports, as bytes comparable with
/// [`Definition::collections`] (an empty package is no package).
pub(super) fn collections_bytes(c: Option<CollectionConfigPackage>) -> Vec<u8> {
    c.filter(|c| !c.config.is_empty())
        .map(|c| c.encode_to_vec())
        .unwrap_or_default()
}

/// `ApproveChaincodeDefinitionForMyOrg`'s arguments for `def` with the
/// package `package_id`.
pub fn approve_args(
    def: &Definition,
    package_id: &str,
) -> Result<ApproveChaincodeDefinitionForMyOrgArgs, prost::DecodeError> {
    Ok(ApproveChaincodeDefinitionForMyOrgArgs {
        sequence: def.sequence,
        name: def.name.clone(),
        version: def.version.clone(),
        init_required: def.init_required,
        validation_parameter: def.validation_parameter.clone(),
        collections: collections_arg(&def.collections)?,
        source: Some(ChaincodeSource {
            r#type: Some(chaincode_source::Type::LocalPackage(
                chaincode_source::Local {
                    package_id: package_id.to_string(),
                },
            )),
        }),
        ..ApproveChaincodeDefinitionForMyOrgArgs::default()
    })
}

/// `CommitChaincodeDefinition`'s arguments for `def`.
pub fn commit_args(def: &Definition) -> Result<CommitChaincodeDefinitionArgs, prost::DecodeError> {
    Ok(CommitChaincodeDefinitionArgs {
        sequence: def.sequence,
        name: def.name.clone(),
        version: def.version.clone(),
        init_required: def.init_required,
        validation_parameter: def.validation_parameter.clone(),
        collections: collections_arg(&def.collections)?,
        ..CommitChaincodeDefinitionArgs::default()
    })
}

/// `CheckCommitReadiness`'s arguments for `def`.
pub fn readiness_args(def: &Definition) -> Result<CheckCommitReadinessArgs, prost::DecodeError> {
    Ok(CheckCommitReadinessArgs {
        sequence: def.sequence,
        name: def.name.clone(),
        version: def.version.clone(),
        init_required: def.init_required,
        validation_parameter: def.validation_parameter.clone(),
        collections: collections_arg(&def.collections)?,
        ..CheckCommitReadinessArgs::default()
    })
}

/// An org's approval from a `QueryApprovedChaincodeDefinition` answer.
pub fn approval_from(name: &str, r: QueryApprovedChaincodeDefinitionResult) -> Approval {
    let package_id = match r.source.and_then(|s| s.r#type) {
        Some(chaincode_source::Type::LocalPackage(l)) => Some(l.package_id),
        _ => None,
    };
    Approval {
        definition: Definition {
            name: name.to_string(),
            version: r.version,
            sequence: r.sequence,
            init_required: r.init_required,
            validation_parameter: r.validation_parameter,
            collections: collections_bytes(r.collections),
        },
        package_id,
    }
}

/// A committed definition from a `QueryChaincodeDefinition` answer.
pub fn committed_from(name: &str, r: QueryChaincodeDefinitionResult) -> Committed {
    Committed {
        definition: Definition {
            name: name.to_string(),
            version: r.version,
            sequence: r.sequence,
            init_required: r.init_required,
            validation_parameter: r.validation_parameter,
            collections: collections_bytes(r.collections),
        },
        approvals: r.approvals.into_iter().collect(),
    }
}

/// The packages of a `QueryInstalledChaincodes` answer.
pub fn installed_from(r: QueryInstalledChaincodesResult) -> Vec<Installed> {
    r.installed_chaincodes
        .into_iter()
        .map(|c| Installed {
            package_id: c.package_id,
            label: c.label,
        })
        .collect()
}

/// An org's approval: the definition and the package it names (if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub definition: Definition,
    pub package_id: Option<String>,
}

/// A committed definition and which orgs approved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    pub definition: Definition,
    /// MSP ID -> approved.
    pub approvals: BTreeMap<String, bool>,
}

/// A package installed on a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    pub package_id: String,
    pub label: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::{ChannelError, already_initialized};

    #[test]
    fn an_empty_collection_package_is_no_collections() {
        assert!(collections_bytes(None).is_empty());
        assert!(collections_bytes(Some(CollectionConfigPackage::default())).is_empty());
        assert_eq!(collections_arg(&[]).expect("empty"), None);
        let rejected = ChannelError::PeerRejected {
            node: "peer0-org1".into(),
            address: "127.0.0.1:1".into(),
            action: "Init".into(),
            status: 500,
            message: "chaincode 'counter' is already initialized but called as init".into(),
        };
        assert!(already_initialized(&rejected));
    }
}
