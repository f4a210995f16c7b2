//! The Gateway calls of a [`PeerClient`]: endorse and submit, evaluate, and
//! the `Init` proposal fabric-sdk's call builder cannot make.

use super::*;

/// The result of a submitted transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    pub transaction_id: String,
    /// What the chaincode returned.
    pub result: Vec<u8>,
}

impl PeerClient {
    fn proposal(
        &self,
        channel: &str,
        chaincode: &str,
        function: &str,
        args: &[Vec<u8>],
        transient: &BTreeMap<String, Vec<u8>>,
    ) -> Result<fabric_sdk::fabric::protos::SignedProposal, ChannelError> {
        let internal = |e: fabric_sdk::error::BuilderError| ChannelError::Transport {
            node: self.node.clone(),
            address: self.address.clone(),
            message: format!("cannot build the proposal: {e}"),
            source: None,
        };
        let mut b = self.client.get_chaincode_call_builder();
        b.with_channel_name(channel)
            .and_then(|b| b.with_chaincode_id(chaincode))
            .and_then(|b| b.with_function_name(function))
            .and_then(|b| b.with_function_args(args.to_vec()))
            .map_err(internal)?;
        // The function goes to the chaincode as given, as the peer CLI sends
        // it (`Fn`, or `Contract:Fn` for a named contract). fabric-sdk would
        // otherwise prefix the chaincode's name as a contract name; its
        // "system chaincode" switch only turns that prefix off.
        b.with_system_chaincode();
        if !transient.is_empty() {
            b.with_transient_map(
                transient
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            );
        }
        b.build().map_err(internal)
    }

    /// Submit a transaction through the peer's Gateway (endorse, order,
    /// wait for commit).
    pub async fn submit(
        &self,
        channel: &str,
        chaincode: &str,
        function: &str,
        args: &[Vec<u8>],
        transient: &BTreeMap<String, Vec<u8>>,
        timeout: Duration,
    ) -> Result<Submitted, ChannelError> {
        let action = format!("{chaincode} {function} on {channel}");
        let proposal = self.proposal(channel, chaincode, function, args, transient)?;
        self.submit_proposal(channel, &action, proposal, timeout)
            .await
    }

    /// Submit the chaincode's `Init` transaction (`is_init` set in its
    /// input, which fabric-sdk's call builder cannot set): `args` are the
    /// function and its arguments, as the peer CLI's `--isInit -c
    /// '{"Args":[…]}'` sends them (none: no function).
    pub async fn submit_init(
        &self,
        channel: &str,
        chaincode: &str,
        args: &[Vec<u8>],
        timeout: Duration,
    ) -> Result<Submitted, ChannelError> {
        let action = format!("Init of {chaincode} on {channel}");
        let internal = |e: fabric_sdk::error::BuilderError| ChannelError::Transport {
            node: self.node.clone(),
            address: self.address.clone(),
            message: format!("cannot build the Init proposal: {e}"),
            source: None,
        };
        let (extension, payload) = init_proposal_parts(chaincode, args);
        let mut b = self.client.get_chaincode_call_builder();
        b.with_channel_name(channel).map_err(internal)?;
        let proposal = b
            .generate_transaction(extension, payload)
            .map_err(internal)?;
        self.submit_proposal(channel, &action, proposal, timeout)
            .await
    }

    async fn submit_proposal(
        &self,
        channel: &str,
        action: &str,
        proposal: fabric_sdk::fabric::protos::SignedProposal,
        timeout: Duration,
    ) -> Result<Submitted, ChannelError> {
        self.deadline(
            "the transaction to be endorsed, ordered and committed",
            timeout,
            async {
                let tx_id = tx_id_of(&proposal);
                let envelope = proposal
                    .endorse(&self.client)
                    .await
                    .map_err(|e| self.submit_error(action, e))?;
                let result = endorsed_result(&envelope);
                // Sent again while the ordering service refuses it.
                let submit = || {
                    let mut envelope = envelope.clone();
                    async move {
                        envelope
                            .submit(&self.client)
                            .await
                            .map(|_| ())
                            .map_err(|e| self.submit_error(action, e))
                    }
                };
                ordering::while_no_leader(channel, ordering::window(timeout), submit).await?;
                let status = envelope
                    .wait_for_commit(&self.client)
                    .await
                    .map_err(|e| self.submit_error(action, e))?;
                self.check_valid(action, status.result)?;
                Ok(Submitted {
                    transaction_id: tx_id,
                    result,
                })
            },
        )
        .await
    }

    /// Evaluate a transaction function (a query) through the peer's Gateway.
    pub async fn evaluate(
        &self,
        channel: &str,
        chaincode: &str,
        function: &str,
        args: &[Vec<u8>],
        timeout: Duration,
    ) -> Result<Vec<u8>, ChannelError> {
        let action = format!("{chaincode} {function} on {channel}");
        let proposal = self.proposal(channel, chaincode, function, args, &BTreeMap::new())?;
        self.deadline("the query's answer", timeout, async {
            let tx_id = tx_id_of(&proposal);
            self.client
                .evaluate(proposal, tx_id, channel.to_string())
                .await
                .map_err(|e| self.submit_error(&action, e))
        })
        .await
    }
}

/// The header extension and payload of a chaincode's `Init` proposal: the
/// chaincode's ID and a `ChaincodeInvocationSpec` whose input has `is_init`
/// set and `args` as given.
pub fn init_proposal_parts(chaincode: &str, args: &[Vec<u8>]) -> (Vec<u8>, Vec<u8>) {
    use fabric_sdk::fabric::protos::{
        ChaincodeHeaderExtension, ChaincodeId, ChaincodeInput, ChaincodeInvocationSpec,
        ChaincodeProposalPayload, ChaincodeSpec, chaincode_spec,
    };
    let id = ChaincodeId {
        name: chaincode.to_string(),
        ..ChaincodeId::default()
    };
    let extension = ChaincodeHeaderExtension {
        chaincode_id: Some(id.clone()),
    };
    let spec = ChaincodeInvocationSpec {
        chaincode_spec: Some(ChaincodeSpec {
            r#type: chaincode_spec::Type::Golang as i32,
            chaincode_id: Some(id),
            input: Some(ChaincodeInput {
                args: args.to_vec(),
                decorations: Default::default(),
                is_init: true,
            }),
            timeout: 0,
        }),
    };
    let payload = ChaincodeProposalPayload {
        input: spec.encode_to_vec(),
        transient_map: Default::default(),
    };
    (extension.encode_to_vec(), payload.encode_to_vec())
}

/// The peer's answer to an `Init` of a chaincode initialised already at
/// its version: refused before the chaincode runs.
pub fn already_initialized(e: &ChannelError) -> bool {
    matches!(e, ChannelError::PeerRejected { message, .. }
        if message.contains("already initialized but called as init"))
}

/// The chaincode's response payload inside an endorsed transaction.
fn endorsed_result(envelope: &fabric_sdk::fabric::common::Envelope) -> Vec<u8> {
    use fabric_sdk::fabric::protos::{
        ChaincodeAction, ChaincodeActionPayload, ProposalResponsePayload, Transaction,
    };
    use prost::Message as _;
    let payload = match envelope.get_payload() {
        Ok(p) => p,
        Err(_) => return Vec::new(),
    };
    let Ok(tx) = Transaction::decode(payload.data.as_slice()) else {
        return Vec::new();
    };
    tx.actions
        .first()
        .and_then(|a| ChaincodeActionPayload::decode(a.payload.as_slice()).ok())
        .and_then(|p| p.action)
        .and_then(|a| ProposalResponsePayload::decode(a.proposal_response_payload.as_slice()).ok())
        .and_then(|p| ChaincodeAction::decode(p.extension.as_slice()).ok())
        .and_then(|c| c.response)
        .map(|r| r.payload)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use fabric_sdk::fabric::protos::{
        ChaincodeHeaderExtension, ChaincodeInvocationSpec, ChaincodeProposalPayload,
    };

    use super::*;

    #[test]
    fn the_init_proposal_sets_is_init_with_the_args_as_given() {
        let (ext, payload) =
            init_proposal_parts("counter", &[b"InitLedger".to_vec(), b"x".to_vec()]);
        let ext = ChaincodeHeaderExtension::decode(ext.as_slice()).expect("extension");
        assert_eq!(ext.chaincode_id.map(|c| c.name).as_deref(), Some("counter"));
        let payload = ChaincodeProposalPayload::decode(payload.as_slice()).expect("payload");
        assert!(payload.transient_map.is_empty());
        let spec = ChaincodeInvocationSpec::decode(payload.input.as_slice()).expect("spec");
        let input = spec.chaincode_spec.and_then(|s| s.input).expect("input");
        assert!(input.is_init);
        // The function as given: no `contract:` prefix, and none at all
        // when there are no args.
        assert_eq!(input.args, [b"InitLedger".to_vec(), b"x".to_vec()]);
        let (_, none) = init_proposal_parts("counter", &[]);
        let none = ChaincodeProposalPayload::decode(none.as_slice()).expect("payload");
        let spec = ChaincodeInvocationSpec::decode(none.input.as_slice()).expect("spec");
        assert!(
            spec.chaincode_spec
                .and_then(|s| s.input)
                .is_some_and(|i| i.args.is_empty() && i.is_init)
        );
    }
}
