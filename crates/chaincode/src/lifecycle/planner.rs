//! The pure planner: what to deploy ([`DeploySpec`]), the definition to
//! reach from what the peers report ([`target`], [`Planned`]) and whether an
//! org must approve ([`approval_needed`]).

use network::channel::{Approval, Committed, Definition};
use network::policy::{self, EndorsementPolicy};
use network::spec::Chaincode;

use super::version_of;

/// What to deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploySpec {
    pub name: String,
    pub channel: String,
    /// The package file's bytes and its ID (`label:sha256`).
    pub package: Vec<u8>,
    pub package_id: String,
    pub init_required: bool,
    /// The function and arguments of the `Init` transaction (with
    /// `init_required`); empty: none.
    pub init_args: Vec<String>,
    /// The definition's validation parameter: the encoded endorsement
    /// policy (the channel's `/Channel/Application/Endorsement` when
    /// fabdev.yaml names none).
    pub validation_parameter: Vec<u8>,
    /// The encoded collections; empty when there are none.
    pub collections: Vec<u8>,
}

impl DeploySpec {
    /// A package to deploy on `channel` with the channel's endorsement
    /// policy, no collections and no Init.
    pub fn plain(name: &str, channel: &str, package: Vec<u8>, package_id: String) -> DeploySpec {
        DeploySpec {
            name: name.to_string(),
            channel: channel.to_string(),
            package,
            package_id,
            init_required: false,
            init_args: Vec::new(),
            validation_parameter: EndorsementPolicy::default_validation_parameter(),
            collections: Vec::new(),
        }
    }

    /// A package of a chaincode as fabdev.yaml declares it: its channel,
    /// endorsement policy, collections and Init.
    pub fn of(cc: &Chaincode, package: Vec<u8>, package_id: String) -> DeploySpec {
        DeploySpec {
            init_required: cc.init_required,
            init_args: cc.init_args.clone(),
            validation_parameter: cc.endorsement.as_ref().map_or_else(
                EndorsementPolicy::default_validation_parameter,
                EndorsementPolicy::validation_parameter,
            ),
            collections: cc.collections.as_ref().map_or_else(Vec::new, |c| {
                network::fabric::encode(&policy::collection_package(&c.collections))
            }),
            ..DeploySpec::plain(&cc.name, &cc.channel, package, package_id)
        }
    }

    /// The definition of this package at `sequence`.
    pub fn definition(&self, sequence: i64) -> Definition {
        Definition {
            name: self.name.clone(),
            version: version_of(&self.package_id),
            sequence,
            init_required: self.init_required,
            validation_parameter: self.validation_parameter.clone(),
            collections: self.collections.clone(),
        }
    }
}

/// The definition to reach, from what the channel has committed and what
/// this org approved at that sequence: the committed sequence again when it
/// already is this definition (same package, version, Init, endorsement
/// policy and collections), else the next one. A changed policy alone is
/// an upgrade that needs no new install.
pub fn target(
    spec: &DeploySpec,
    committed: Option<&Committed>,
    approved_at_committed: Option<&Approval>,
) -> Definition {
    let sequence = match committed {
        None => 1,
        Some(c) => {
            let want = spec.definition(c.definition.sequence);
            let same = c.definition == want
                && approved_at_committed.is_some_and(|a| {
                    a.definition == want
                        && a.package_id.as_deref() == Some(spec.package_id.as_str())
                });
            if same {
                c.definition.sequence
            } else {
                c.definition.sequence + 1
            }
        }
    };
    spec.definition(sequence)
}

/// Whether an org must approve `def` with `package_id`, given its current
/// approval at that sequence.
pub fn approval_needed(current: Option<&Approval>, def: &Definition, package_id: &str) -> bool {
    !current.is_some_and(|a| &a.definition == def && a.package_id.as_deref() == Some(package_id))
}

/// The definition a deploy reaches, and what the channel has committed now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub definition: Definition,
    /// The sequence committed on the channel now, if any.
    pub committed_sequence: Option<i64>,
}

impl Planned {
    /// Whether the definition is committed already.
    pub fn is_committed(&self) -> bool {
        self.committed_sequence == Some(self.definition.sequence)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use network::Workspace;

    use super::*;

    fn spec(id: &str) -> DeploySpec {
        DeploySpec::plain("basic", "mychannel", vec![], id.into())
    }

    fn def(seq: i64, version: &str) -> Definition {
        Definition {
            name: "basic".into(),
            version: version.into(),
            sequence: seq,
            init_required: false,
            validation_parameter: EndorsementPolicy::default_validation_parameter(),
            collections: vec![],
        }
    }

    fn committed(seq: i64, version: &str) -> Committed {
        Committed {
            definition: def(seq, version),
            approvals: BTreeMap::new(),
        }
    }

    fn approval(seq: i64, version: &str, pkg: &str) -> Approval {
        Approval {
            definition: def(seq, version),
            package_id: Some(pkg.into()),
        }
    }

    /// A chaincode of fabdev.yaml with these extra fields.
    fn declared(extra: &str) -> Chaincode {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("package.json"), "{}").expect("package.json");
        std::fs::write(
            dir.path().join("pdc.json"),
            r#"[{"name":"secret","policy":"OR('Org1MSP.member')"}]"#,
        )
        .expect("pdc.json");
        let text = format!(
            "apiVersion: fabdev/v1alpha1\nkind: Workspace\nchaincodes:\n  - {{ name: basic, path: ., {extra} }}\n"
        );
        let ws = Workspace::parse(&text, &dir.path().join("fabdev.yaml"), dir.path())
            .unwrap_or_else(|e| panic!("{e}"));
        ws.chaincodes[0].clone()
    }

    #[test]
    fn a_changed_policy_or_collection_is_the_next_sequence_with_the_same_package() {
        let id = "b:aaaaaaaaaaaaaaaa";
        let c = committed(3, "aaaaaaaaaaaa");
        let a = approval(3, "aaaaaaaaaaaa", id);
        // Declared with no policy: the channel's Endorsement policy, as committed.
        let plain = DeploySpec::of(&declared("lang: node"), vec![], id.into());
        assert_eq!(plain, spec(id));
        assert_eq!(target(&plain, Some(&c), Some(&a)).sequence, 3);
        for extra in [
            "signaturePolicy: \"OR('Org1MSP.peer', 'Org2MSP.peer')\"",
            "channelConfigPolicy: /Channel/Application/Readers",
            "collections: pdc.json",
            "initRequired: true",
        ] {
            let s = DeploySpec::of(&declared(extra), vec![], id.into());
            let d = target(&s, Some(&c), Some(&a));
            assert_eq!(
                (d.sequence, d.version.as_str()),
                (4, "aaaaaaaaaaaa"),
                "{extra}"
            );
            // Every org approves the new definition, though the package is the same.
            assert!(approval_needed(Some(&a), &d, id), "{extra}");
            // Once committed as declared, it is unchanged.
            let now = Committed {
                definition: d.clone(),
                approvals: BTreeMap::new(),
            };
            let approved = Approval {
                definition: d.clone(),
                package_id: Some(id.into()),
            };
            assert_eq!(
                target(&s, Some(&now), Some(&approved)).sequence,
                4,
                "{extra}"
            );
            assert!(!approval_needed(Some(&approved), &d, id));
        }
    }

    #[test]
    fn declared_policies_are_encoded_into_the_definition() {
        use network::fabric::{Message as _, peer};
        let s = DeploySpec::of(
            &declared(
                "signaturePolicy: \"OR('Org1MSP.peer')\", collections: pdc.json, initRequired: true, initArgs: [InitLedger, x]",
            ),
            vec![],
            "b:aa".into(),
        );
        let p = peer::ApplicationPolicy::decode(s.validation_parameter.as_slice()).expect("policy");
        assert!(matches!(
            p.r#type,
            Some(peer::application_policy::Type::SignaturePolicy(_))
        ));
        let c =
            peer::CollectionConfigPackage::decode(s.collections.as_slice()).expect("collections");
        assert_eq!(c.config.len(), 1);
        assert!(s.init_required);
        assert_eq!(s.init_args, ["InitLedger", "x"]);
        let d = s.definition(1);
        assert_eq!(
            (d.validation_parameter, d.collections),
            (s.validation_parameter, s.collections)
        );
    }

    #[test]
    fn first_deploy_is_sequence_one() {
        let d = target(&spec("b:aaaaaaaaaaaaaaaa"), None, None);
        assert_eq!((d.sequence, d.version.as_str()), (1, "aaaaaaaaaaaa"));
    }

    #[test]
    fn unchanged_package_keeps_the_sequence() {
        let s = spec("b:aaaaaaaaaaaaaaaa");
        let c = committed(3, "aaaaaaaaaaaa");
        let a = approval(3, "aaaaaaaaaaaa", "b:aaaaaaaaaaaaaaaa");
        assert_eq!(target(&s, Some(&c), Some(&a)).sequence, 3);
    }

    #[test]
    fn a_changed_package_is_the_next_sequence() {
        let s = spec("b:bbbbbbbbbbbbbbbb");
        let c = committed(3, "aaaaaaaaaaaa");
        let a = approval(3, "aaaaaaaaaaaa", "b:aaaaaaaaaaaaaaaa");
        let d = target(&s, Some(&c), Some(&a));
        assert_eq!((d.sequence, d.version.as_str()), (4, "bbbbbbbbbbbb"));
        // This org never approved the committed definition: still an upgrade.
        assert_eq!(target(&s, Some(&c), None).sequence, 4);
    }

    #[test]
    fn approvals_are_skipped_only_when_they_match() {
        let d = def(2, "bbbbbbbbbbbb");
        let same = approval(2, "bbbbbbbbbbbb", "b:bbbb");
        assert!(!approval_needed(Some(&same), &d, "b:bbbb"));
        assert!(approval_needed(Some(&same), &d, "b:cccc"));
        assert!(approval_needed(None, &d, "b:bbbb"));
        let old = approval(2, "aaaaaaaaaaaa", "b:bbbb");
        assert!(approval_needed(Some(&old), &d, "b:bbbb"));
    }
}
