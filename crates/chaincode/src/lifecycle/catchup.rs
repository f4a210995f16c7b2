//! An org that has just joined a channel catches up with what the channel
//! runs: every committed definition's package installed on the org's peers
//! (the very package an org already on the channel approved, taken from
//! one of its peers, so the package ID is the same whether or not
//! fabdev.yaml lists the chaincode), and the committed definition approved
//! for the org at the committed sequence, so that the org endorses under a
//! policy that names it without a new sequence.
//!
//! What to do is decided by [`catch_up_plan`] (pure) over what the peers
//! report; [`catch_up_org`] asks them and does it.

use network::Topology;
use network::channel::{Approval, Definition, PeerClient};
use network::pki::{ADMIN, CryptoDir};

use super::{CALL_TIMEOUT, INSTALL_TIMEOUT, LifecycleError, approval_needed, connect};
use network::channel::Endpoints;

/// What the new org does for one committed definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatchUp {
    pub definition: Definition,
    /// The package the member org approved (`label:hash`).
    pub package_id: String,
    /// Whether the new org still has to approve the definition.
    pub approve: bool,
}

/// What [`catch_up_org`] did for one chaincode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaughtUp {
    pub name: String,
    pub sequence: i64,
    pub package_id: String,
    /// The new org's peers that got the package now.
    pub installed: Vec<String>,
    /// Whether the org approved now (false: it had already).
    pub approved: bool,
}

/// From the channel's committed definitions, a member org's approval of
/// each at its committed sequence, and the new org's, what the new org
/// must do: install the member's package and approve the same definition
/// where its approval differs. A definition the member org has no approval
/// with a package for (it committed without running it) has no package to
/// copy: that is [`LifecycleError::NoPackage`].
pub fn catch_up_plan(
    channel: &str,
    member_org: &str,
    committed: &[Definition],
    member: &[Option<Approval>],
    new_org: &[Option<Approval>],
) -> Result<Vec<CatchUp>, LifecycleError> {
    committed
        .iter()
        .enumerate()
        .map(|(i, def)| {
            let package_id = member
                .get(i)
                .and_then(Option::as_ref)
                .filter(|a| &a.definition == def)
                .and_then(|a| a.package_id.clone())
                .ok_or_else(|| LifecycleError::NoPackage {
                    name: def.name.clone(),
                    channel: channel.to_string(),
                    sequence: def.sequence,
                    org: member_org.to_string(),
                })?;
            let approve =
                approval_needed(new_org.get(i).and_then(Option::as_ref), def, &package_id);
            Ok(CatchUp {
                definition: def.clone(),
                package_id,
                approve,
            })
        })
        .collect()
}

/// `org`'s peers catch up with `channel` (see the module): the committed
/// definitions and their packages read from the first peer of
/// `member_org` (an org already on the channel), each package installed
/// where it is missing, each definition approved for `org` at its
/// committed sequence where its approval differs. Run after the org's
/// peers joined; a re-run does only what is missing.
pub async fn catch_up_org(
    topo: &Topology,
    crypto: &CryptoDir,
    endpoints: &Endpoints,
    channel: &str,
    member_org: &str,
    org: &str,
) -> Result<Vec<CaughtUp>, LifecycleError> {
    let source = topo
        .peers_of(member_org)
        .next()
        .ok_or_else(|| LifecycleError::NoPeer {
            org: member_org.to_string(),
            channel: channel.to_string(),
        })?;
    let member = connect(source, endpoints, crypto, ADMIN).await?;
    let mut peers: Vec<PeerClient> = Vec::new();
    for node in topo.peers_of(org) {
        peers.push(connect(node, endpoints, crypto, ADMIN).await?);
    }
    let Some(approver) = peers.first() else {
        return Err(LifecycleError::NoPeer {
            org: org.to_string(),
            channel: channel.to_string(),
        });
    };
    let committed = member.committed_all(channel, CALL_TIMEOUT).await?;
    let mut theirs = Vec::new();
    let mut ours = Vec::new();
    for def in &committed {
        theirs.push(
            member
                .approval(channel, &def.name, def.sequence, CALL_TIMEOUT)
                .await?,
        );
        ours.push(
            approver
                .approval(channel, &def.name, def.sequence, CALL_TIMEOUT)
                .await?,
        );
    }
    let plan = catch_up_plan(channel, member_org, &committed, &theirs, &ours)?;
    let mut done = Vec::new();
    for step in plan {
        let mut package = None;
        let mut installed = Vec::new();
        for peer in &peers {
            let have = peer.installed(CALL_TIMEOUT).await?;
            if have.iter().any(|i| i.package_id == step.package_id) {
                continue;
            }
            if package.is_none() {
                package = Some(
                    member
                        .installed_package(&step.package_id, CALL_TIMEOUT)
                        .await?,
                );
            }
            let bytes = package.clone().unwrap_or_default();
            peer.install(bytes, INSTALL_TIMEOUT).await?;
            installed.push(peer.node().to_string());
        }
        if step.approve {
            approver
                .approve(channel, &step.definition, &step.package_id, CALL_TIMEOUT)
                .await?;
        }
        done.push(CaughtUp {
            name: step.definition.name.clone(),
            sequence: step.definition.sequence,
            package_id: step.package_id,
            installed,
            approved: step.approve,
        });
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(name: &str, seq: i64) -> Definition {
        Definition {
            name: name.into(),
            version: "v".into(),
            sequence: seq,
            init_required: false,
            validation_parameter: vec![1],
            collections: vec![],
        }
    }

    fn approved(d: &Definition, pkg: &str) -> Option<Approval> {
        Some(Approval {
            definition: d.clone(),
            package_id: Some(pkg.into()),
        })
    }

    #[test]
    fn the_new_org_approves_the_committed_definition_with_the_members_package() {
        let (a, b) = (def("basic", 3), def("other", 1));
        let plan = catch_up_plan(
            "mychannel",
            "Org1",
            &[a.clone(), b.clone()],
            &[approved(&a, "basic:1"), approved(&b, "other:2")],
            &[None, approved(&b, "other:2")],
        )
        .expect("plan");
        assert_eq!(
            plan,
            [
                CatchUp {
                    definition: a,
                    package_id: "basic:1".into(),
                    approve: true
                },
                CatchUp {
                    definition: b,
                    package_id: "other:2".into(),
                    approve: false
                },
            ]
        );
    }

    #[test]
    fn a_definition_the_member_has_no_package_for_is_named() {
        let a = def("basic", 2);
        // No approval, or one of another definition: no package to copy.
        let other = def("basic", 1);
        for member in [None, approved(&other, "basic:1")] {
            let e = catch_up_plan(
                "mychannel",
                "Org1",
                std::slice::from_ref(&a),
                &[member],
                &[None],
            )
            .expect_err("no package");
            let text = e.to_string();
            assert!(
                text.contains("basic") && text.contains("Org1") && text.contains("sequence 2"),
                "{text}"
            );
        }
        assert!(
            catch_up_plan("c", "Org1", &[], &[], &[])
                .expect("nothing")
                .is_empty()
        );
    }
}
