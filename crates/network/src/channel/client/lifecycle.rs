//! The `_lifecycle` calls of a [`PeerClient`]: install, approve, commit and
//! their queries.

use super::definition::collections_bytes;
use super::*;

impl PeerClient {
    /// Install a package. The peer builds the chaincode before it answers
    /// (with the Docker builder: an image build in its daemon), so give it
    /// the build's time. Returns the package ID; a package installed
    /// already is not an error (`Ok(None)`).
    pub async fn install(
        &self,
        package: Vec<u8>,
        timeout: Duration,
    ) -> Result<Option<String>, ChannelError> {
        let action = "InstallChaincode";
        self.deadline(
            "the peer to install (and build) the package",
            timeout,
            async {
                match self
                    .client
                    .get_lifecycle_client()
                    .install_chaincode(package)
                    .await
                {
                    Ok(r) => Ok(Some(r.package_id)),
                    Err(e)
                        if node_message(&e).is_some_and(|m| {
                            m.contains("chaincode already successfully installed")
                        }) =>
                    {
                        Ok(None)
                    }
                    Err(e) => Err(self.lifecycle_error(action, e)),
                }
            },
        )
        .await
    }

    /// The packages installed on the peer.
    pub async fn installed(&self, timeout: Duration) -> Result<Vec<Installed>, ChannelError> {
        self.deadline("the installed packages", timeout, async {
            let r = self
                .client
                .get_lifecycle_client()
                .query_installed_chaincodes()
                .await
                .map_err(|e| self.lifecycle_error("QueryInstalledChaincodes", e))?;
            Ok(installed_from(r))
        })
        .await
    }

    /// The bytes of the package `package_id` installed on the peer
    /// (`GetInstalledChaincodePackage`): what another peer installs to run
    /// the same chaincode.
    pub async fn installed_package(
        &self,
        package_id: &str,
        timeout: Duration,
    ) -> Result<Vec<u8>, ChannelError> {
        self.deadline("the installed package", timeout, async {
            self.client
                .get_lifecycle_client()
                .get_installed_chaincode_package(package_id)
                .await
                .map_err(|e| self.lifecycle_error("GetInstalledChaincodePackage", e))
        })
        .await
    }

    /// This org's approval of `name` at `sequence` on `channel`, if any.
    pub async fn approval(
        &self,
        channel: &str,
        name: &str,
        sequence: i64,
        timeout: Duration,
    ) -> Result<Option<Approval>, ChannelError> {
        self.deadline("the org's approved definition", timeout, async {
            match self
                .client
                .get_lifecycle_client()
                .query_approved_chaincode_definition(channel, name, sequence)
                .await
            {
                Ok(r) => Ok(Some(approval_from(name, r))),
                Err(e)
                    if node_message(&e).is_some_and(|m| {
                        m.contains("could not fetch approved chaincode definition")
                            || not_defined(m)
                    }) =>
                {
                    Ok(None)
                }
                Err(e) => Err(self.lifecycle_error("QueryApprovedChaincodeDefinition", e)),
            }
        })
        .await
    }

    /// The committed definition of `name` on `channel`, if any.
    pub async fn committed(
        &self,
        channel: &str,
        name: &str,
        timeout: Duration,
    ) -> Result<Option<Committed>, ChannelError> {
        self.deadline("the committed definition", timeout, async {
            match self
                .client
                .get_lifecycle_client()
                .query_chaincode_definition(channel, name)
                .await
            {
                Ok(r) => Ok(Some(committed_from(name, r))),
                Err(e) if node_message(&e).is_some_and(not_defined) => Ok(None),
                Err(e) => Err(self.lifecycle_error("QueryChaincodeDefinition", e)),
            }
        })
        .await
    }

    /// Every committed definition on `channel`.
    pub async fn committed_all(
        &self,
        channel: &str,
        timeout: Duration,
    ) -> Result<Vec<Definition>, ChannelError> {
        self.deadline("the committed definitions", timeout, async {
            let r = self
                .client
                .get_lifecycle_client()
                .query_chaincode_definitions(channel)
                .await
                .map_err(|e| self.lifecycle_error("QueryChaincodeDefinitions", e))?;
            Ok(r.chaincode_definitions
                .into_iter()
                .map(|d| Definition {
                    name: d.name,
                    version: d.version,
                    sequence: d.sequence,
                    init_required: d.init_required,
                    validation_parameter: d.validation_parameter,
                    collections: collections_bytes(d.collections),
                })
                .collect())
        })
        .await
    }

    /// Approve `def` with `package_id` for this org; waits until the
    /// transaction is committed.
    pub async fn approve(
        &self,
        channel: &str,
        def: &Definition,
        package_id: &str,
        timeout: Duration,
    ) -> Result<(), ChannelError> {
        let action = format!(
            "approving {} sequence {} on {channel}",
            def.name, def.sequence
        );
        let args = approve_args(def, package_id).map_err(|e| self.bad_definition(&action, e))?;
        let action = &action;
        let submit = || {
            let args = args.clone();
            async move {
                let status = self
                    .client
                    .get_lifecycle_client()
                    .approve_chaincode_definition(channel, args)
                    .await
                    .map_err(|e| self.lifecycle_error(action, e))?;
                self.check_valid(action, status.result)
            }
        };
        let window = ordering::window(timeout);
        self.deadline(
            "the approval to be ordered and committed",
            timeout,
            ordering::while_no_leader(channel, window, submit),
        )
        .await
    }

    /// Which orgs have approved `def` (MSP ID -> approved).
    pub async fn readiness(
        &self,
        channel: &str,
        def: &Definition,
        timeout: Duration,
    ) -> Result<BTreeMap<String, bool>, ChannelError> {
        let args =
            readiness_args(def).map_err(|e| self.bad_definition("CheckCommitReadiness", e))?;
        self.deadline("the commit readiness", timeout, async {
            let r = self
                .client
                .get_lifecycle_client()
                .check_commit_readiness(channel, args)
                .await
                .map_err(|e| self.lifecycle_error("CheckCommitReadiness", e))?;
            Ok(r.approvals.into_iter().collect())
        })
        .await
    }

    /// Commit `def`, endorsed by this peer and by `others` (one peer of each
    /// other org the LifecycleEndorsement policy needs); waits until the
    /// transaction is committed.
    pub async fn commit(
        &self,
        channel: &str,
        def: &Definition,
        others: &[&PeerClient],
        timeout: Duration,
    ) -> Result<(), ChannelError> {
        let action = format!(
            "committing {} sequence {} on {channel}",
            def.name, def.sequence
        );
        let args = commit_args(def).map_err(|e| self.bad_definition(&action, e))?;
        let endorsers: Vec<&Client> = others.iter().map(|p| &p.client).collect();
        let (action, endorsers) = (&action, &endorsers);
        let submit = || {
            let args = args.clone();
            async move {
                let status = self
                    .client
                    .get_lifecycle_client()
                    .commit_chaincode_definition(channel, args, endorsers)
                    .await
                    .map_err(|e| self.lifecycle_error(action, e))?;
                self.check_valid(action, status.result)
            }
        };
        let window = ordering::window(timeout);
        self.deadline(
            "the commit to be ordered and committed",
            timeout,
            ordering::while_no_leader(channel, window, submit),
        )
        .await
    }

    /// The raw answer of a `_lifecycle` query (`function` with its encoded
    /// arguments; `channel` empty for the peer's own, such as
    /// `QueryInstalledChaincodes`): the bytes the peer returns, for
    /// recording vectors (scripts/record/lifecycle-vectors.sh).
    pub async fn lifecycle_query_raw(
        &self,
        channel: &str,
        function: &str,
        args: Vec<u8>,
        timeout: Duration,
    ) -> Result<Vec<u8>, ChannelError> {
        let internal = |e: fabric_sdk::error::BuilderError| ChannelError::Transport {
            node: self.node.clone(),
            address: self.address.clone(),
            message: format!("cannot build the {function} proposal: {e}"),
            source: None,
        };
        let mut b = self.client.get_chaincode_call_builder();
        b.with_chaincode_id("_lifecycle")
            .and_then(|b| b.with_function_name(function))
            .and_then(|b| b.with_function_args([args]))
            .map_err(internal)?;
        if !channel.is_empty() {
            b.with_channel_name(channel).map_err(internal)?;
        }
        let proposal = b.build().map_err(internal)?;
        self.deadline("the lifecycle query's answer", timeout, async {
            if channel.is_empty() {
                let r = self
                    .client
                    .process_proposal(proposal)
                    .await
                    .map_err(|e| self.submit_error(function, e))?;
                let r = r.response.unwrap_or_default();
                if r.status != 200 {
                    return Err(self.rejected(function, r.message));
                }
                return Ok(r.payload);
            }
            let tx_id = tx_id_of(&proposal);
            self.client
                .evaluate(proposal, tx_id, channel.to_string())
                .await
                .map_err(|e| self.submit_error(function, e))
        })
        .await
    }
}
