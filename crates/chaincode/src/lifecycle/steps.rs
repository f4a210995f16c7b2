//! The lifecycle's steps, one function each over a [`ChannelAdmins`]:
//! install, plan, approve, commit, init. fabdev runs them as named steps;
//! [`super::deploy`] composes them.

use network::channel::{Definition, PeerClient};

use super::call::while_endorsers_unknown;
use super::{
    CALL_TIMEOUT, ChannelAdmins, DeploySpec, LifecycleError, LifecycleEvent, Planned,
    approval_needed, target,
};
use crate::join::futures_join_all;

/// The definition to reach (see [`target`]), from what the channel's first
/// peer reports.
pub async fn plan(admins: &ChannelAdmins, spec: &DeploySpec) -> Result<Planned, LifecycleError> {
    let first = admins.first()?;
    let committed = first
        .committed(&spec.channel, &spec.name, CALL_TIMEOUT)
        .await?;
    let approved_at_committed = match &committed {
        Some(c) => {
            first
                .approval(
                    &spec.channel,
                    &spec.name,
                    c.definition.sequence,
                    CALL_TIMEOUT,
                )
                .await?
        }
        None => None,
    };
    Ok(Planned {
        definition: target(spec, committed.as_ref(), approved_at_committed.as_ref()),
        committed_sequence: committed.map(|c| c.definition.sequence),
    })
}

/// Approve `def` for each org of the channel whose approval differs.
/// Returns the orgs that approved now.
pub async fn approve_all(
    admins: &ChannelAdmins,
    spec: &DeploySpec,
    def: &Definition,
    on_event: &mut (dyn FnMut(LifecycleEvent) + Send),
) -> Result<Vec<String>, LifecycleError> {
    admins.require_all()?;
    // What each org approved, asked of all at once.
    let orgs: Vec<(&str, &PeerClient)> = admins.org_peers().collect();
    let current = futures_join_all(
        orgs.iter()
            .map(|(_, c)| c.approval(&spec.channel, &spec.name, def.sequence, CALL_TIMEOUT))
            .collect(),
    )
    .await;
    let mut needed = Vec::new();
    for ((org, c), current) in orgs.iter().zip(current) {
        if approval_needed(current?.as_ref(), def, &spec.package_id) {
            on_event(LifecycleEvent::Approving {
                org: org.to_string(),
                sequence: def.sequence,
            });
            needed.push((org.to_string(), *c));
        } else {
            on_event(LifecycleEvent::AlreadyApproved {
                org: org.to_string(),
                sequence: def.sequence,
            });
        }
    }
    // The approvals that are missing, submitted together: they write
    // different orgs' keys, so they go into one block and cost one
    // BatchTimeout, not one each.
    let results = futures_join_all(
        needed
            .iter()
            .map(|(_, c)| c.approve(&spec.channel, def, &spec.package_id, CALL_TIMEOUT))
            .collect(),
    )
    .await;
    let mut approved = Vec::new();
    for ((org, _), r) in needed.into_iter().zip(results) {
        r?;
        on_event(LifecycleEvent::Approved {
            org: org.clone(),
            sequence: def.sequence,
        });
        approved.push(org);
    }
    Ok(approved)
}

/// Commit the planned definition unless it is committed already; an
/// org that has not approved it is [`LifecycleError::NotApproved`].
/// Returns whether it was committed now.
pub async fn commit_definition(
    admins: &ChannelAdmins,
    spec: &DeploySpec,
    planned: &Planned,
    on_event: &mut (dyn FnMut(LifecycleEvent) + Send),
) -> Result<bool, LifecycleError> {
    let def = &planned.definition;
    if planned.is_committed() {
        on_event(LifecycleEvent::AlreadyCommitted {
            sequence: def.sequence,
        });
        return Ok(false);
    }
    let first = admins.first()?;
    let readiness = first.readiness(&spec.channel, def, CALL_TIMEOUT).await?;
    let missing: Vec<&String> = readiness
        .iter()
        .filter(|(_, ok)| !**ok)
        .map(|(m, _)| m)
        .collect();
    if !missing.is_empty() {
        return Err(LifecycleError::NotApproved {
            name: spec.name.clone(),
            channel: spec.channel.clone(),
            sequence: def.sequence,
            missing: missing
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    on_event(LifecycleEvent::Committing {
        sequence: def.sequence,
    });
    let others: Vec<&PeerClient> = admins.org_peers().skip(1).map(|(_, c)| c).collect();
    first
        .commit(&spec.channel, def, &others, CALL_TIMEOUT)
        .await?;
    on_event(LifecycleEvent::Committed {
        sequence: def.sequence,
    });
    Ok(true)
}

/// What [`init`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitOutcome {
    /// The chaincode does not require `Init`.
    NotRequired,
    /// `Init` ran now, in this transaction.
    Initialized { transaction_id: String },
    /// The chaincode was initialised at this version already; the peer
    /// refused the `Init` before running the chaincode.
    AlreadyInitialized,
}

/// Call the chaincode's `Init` once, when its definition requires it
/// (`init_required`), as the channel's first org's admin through the
/// Gateway. Whether it ran already is the ledger's to say: the peer keeps
/// the version `Init` ran at and refuses a second `Init` of that version
/// before the chaincode runs ([`network::channel::already_initialized`]),
/// so a re-deploy never runs it again and a deploy whose `Init` failed runs
/// it on the next try. An upgrade to a new version runs it again (Fabric
/// requires that); a changed policy alone keeps the version and does not.
pub async fn init(
    admins: &ChannelAdmins,
    spec: &DeploySpec,
    planned: &Planned,
    on_event: &mut (dyn FnMut(LifecycleEvent) + Send),
) -> Result<InitOutcome, LifecycleError> {
    if !spec.init_required {
        return Ok(InitOutcome::NotRequired);
    }
    let sequence = planned.definition.sequence;
    let first = admins.first()?;
    let args: Vec<Vec<u8>> = spec
        .init_args
        .iter()
        .map(|a| a.as_bytes().to_vec())
        .collect();
    on_event(LifecycleEvent::Initializing { sequence });
    // As for invoke: right after a commit the Gateway's discovery may not
    // know yet that the other orgs' peers run the chaincode.
    match while_endorsers_unknown(|| {
        first.submit_init(&spec.channel, &spec.name, &args, CALL_TIMEOUT)
    })
    .await
    {
        Err(e) if network::channel::already_initialized(&e) => {
            on_event(LifecycleEvent::AlreadyInitialized { sequence });
            Ok(InitOutcome::AlreadyInitialized)
        }
        Err(e) => Err(LifecycleError::Init {
            name: spec.name.clone(),
            channel: spec.channel.clone(),
            source: Box::new(e),
        }),
        Ok(s) => {
            on_event(LifecycleEvent::Initialized {
                sequence,
                transaction_id: s.transaction_id.clone(),
            });
            Ok(InitOutcome::Initialized {
                transaction_id: s.transaction_id,
            })
        }
    }
}
