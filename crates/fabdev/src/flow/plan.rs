//! `up`'s reconcile edges: what the last `up` applied, read from and
//! written to `.fabdev/applied.json`, and which actions of a plan `up`
//! applies to a running network (the plan itself is `network::reconcile`'s,
//! pure).

use std::path::Path;

use network::reconcile::{APPLIED_FILE, Action, AppliedChaincode, AppliedState};
use network::spec::Chaincode;

use super::FlowError;

/// What the last successful `up` applied; none when nothing was (a new
/// network, or one made before fabdev recorded it).
pub(crate) fn read_applied(state_dir: &Path) -> Result<Option<AppliedState>, FlowError> {
    let path = state_dir.join(APPLIED_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(AppliedState::from_json(&text)?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(FlowError::Io {
            action: "read",
            path,
            source,
        }),
    }
}

/// Records what `up` applied, replacing the file whole (written beside it,
/// then renamed), so a killed `up` leaves the old record or the new one.
pub(crate) fn write_applied(state_dir: &Path, applied: &AppliedState) -> Result<(), FlowError> {
    let path = state_dir.join(APPLIED_FILE);
    let tmp = state_dir.join(format!("{APPLIED_FILE}.new"));
    std::fs::write(&tmp, applied.to_json()).map_err(|source| FlowError::Io {
        action: "write",
        path: tmp.clone(),
        source,
    })?;
    std::fs::rename(&tmp, &path).map_err(|source| FlowError::Io {
        action: "replace",
        path,
        source,
    })
}

/// Whether `up` applies `action` to a running network: a new channel (as
/// it always has: genesis block and joins), a new org's crypto and pods,
/// a peer added to an org (crypto for it only, its pod with host ports of
/// its own, its joins of the org's channels from their genesis blocks, and
/// the chaincodes of those channels installed on it by the deploy steps),
/// an org added to a channel (the `channel` step's config update, its
/// peers' joins, and the channel's committed chaincodes installed and
/// approved for it at their committed sequences), and a changed batch
/// timeout, batch size or org's anchor peers (one config update per
/// channel for all of them, `config update <channel>`). Orgs
/// taken off channels and consenter changes are planned but not applied
/// yet, so a plan with them is refused whole.
pub(crate) fn up_applies(action: &Action) -> bool {
    matches!(
        action,
        Action::AddChannel { .. }
            | Action::AddOrg { .. }
            | Action::AddPeer { .. }
            | Action::AddOrgToChannel { .. }
            | Action::ChangeBatchTimeout { .. }
            | Action::ChangeBatchSize { .. }
            | Action::ChangeAnchorPeers { .. }
    )
}

/// Records a chaincode `chaincode deploy` (or `up`) committed in what the
/// network runs, so that the next `up`'s plan knows which orgs its
/// definition names. Only a network `up` made has a record; none is
/// started here.
pub(crate) fn record_chaincode(state_dir: &Path, cc: &Chaincode) -> Result<(), FlowError> {
    let Some(mut applied) = read_applied(state_dir)? else {
        return Ok(());
    };
    let now = AppliedChaincode::of(cc);
    if applied.chaincodes.contains(&now) {
        return Ok(());
    }
    applied.record_chaincode(now);
    write_applied(state_dir, &applied)
}
