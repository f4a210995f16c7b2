//! One JSON object a line, for CI: `{"event": NAME, "step": STEP, ..the
//! kind's fields}`, `step` left out for events of no step.

use std::io::Write;

use serde::Serialize;

use super::{Event, EventKind, Sink};

/// One JSON object a line, for CI.
#[derive(Debug)]
pub struct JsonReporter<W: Write + Send> {
    out: W,
}

impl<W: Write + Send> JsonReporter<W> {
    pub fn new(out: W) -> Self {
        JsonReporter { out }
    }
}

impl<W: Write + Send> Sink for JsonReporter<W> {
    fn emit(&mut self, event: Event) {
        if let Ok(line) = serde_json::to_string(&event) {
            let _ = writeln!(self.out, "{line}");
        }
    }
}

/// The envelope on the wire: the event's name, then its step, then the
/// kind's own fields.
#[derive(Serialize)]
struct Wire<'a> {
    event: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    step: Option<&'a str>,
    #[serde(flatten)]
    kind: &'a EventKind,
}

impl Serialize for Event {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Wire {
            event: self.kind.name(),
            step: self.step.as_deref(),
            kind: &self.kind,
        }
        .serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::*;
    use cluster::doctor::{Check, Verdict};
    use std::time::Duration;

    #[test]
    fn json_lines() {
        let mut buf = Vec::new();
        {
            let mut r = JsonReporter::new(&mut buf);
            r.emit(Event::of(
                "apply",
                EventKind::StepDone {
                    elapsed: Duration::from_millis(1500),
                    detail: Some("13 objects".into()),
                },
            ));
            r.emit(Event::new(EventKind::Note {
                message: "hi".into(),
            }));
        }
        let text = String::from_utf8(buf).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            lines[0],
            serde_json::json!({"event": "step_done", "step": "apply", "elapsed_ms": 1500, "detail": "13 objects"})
        );
        assert_eq!(
            lines[1],
            serde_json::json!({"event": "note", "message": "hi"})
        );
    }
    /// One line of every kind of event (and of the optional fields), as
    /// `--output json` writes them: the shape CI reads.
    #[test]
    fn every_event_as_a_json_line() {
        let st = |s: &str| s.to_string();
        let events = vec![
            Event::of("apply", EventKind::StepStarted {}),
            Event::of(
                "apply",
                EventKind::Progress {
                    message: st("waiting"),
                },
            ),
            Event::of(
                "image x",
                EventKind::Transfer {
                    item: st("x"),
                    done: 5,
                    total: 10,
                },
            ),
            Event::of(
                "apply",
                EventKind::StepDone {
                    elapsed: Duration::from_millis(1500),
                    detail: Some(st("13 objects")),
                },
            ),
            Event::of(
                "apply",
                EventKind::StepDone {
                    elapsed: Duration::from_millis(2),
                    detail: None,
                },
            ),
            Event::of(
                "apply",
                EventKind::StepFailed {
                    elapsed: Duration::from_millis(50),
                    error: st("boom\n  caused by: x"),
                    hint: None,
                },
            ),
            Event::of(
                "workspace",
                EventKind::StepFailed {
                    elapsed: Duration::from_millis(1),
                    error: st("workspace folder x does not exist"),
                    hint: Some(st("pass an existing folder with -w/--workspace")),
                },
            ),
            Event::new(EventKind::Note { message: st("hi") }),
            Event::of(
                "kind cluster fabdev",
                EventKind::Cluster {
                    name: st("fabdev"),
                    state: ClusterState::Recreated,
                },
            ),
            Event::of(
                "image x",
                EventKind::Images {
                    target: st("host Docker"),
                    copied: vec![st("x")],
                    present: vec![],
                },
            ),
            Event::of(
                "apply objects",
                EventKind::Applied {
                    objects: vec![st("Namespace fabdev")],
                    changed: vec![],
                },
            ),
            Event::of("wait", EventKind::PodsReady { pods: 3 }),
            Event::of(
                "channel c",
                EventKind::Channel {
                    channel: st("c"),
                    node: st("peer0-org1"),
                    state: JoinState::Failed,
                    error: Some(st("refused")),
                },
            ),
            Event::of(
                "channel c",
                EventKind::Channel {
                    channel: st("c"),
                    node: st("peer0-org1"),
                    state: JoinState::Joined,
                    error: None,
                },
            ),
            Event::of(
                "package basic",
                EventKind::Packaged {
                    chaincode: st("basic"),
                    lang: st("node"),
                    package_id: st("basic_1:ab"),
                    bytes: 10,
                    vendored: false,
                    warnings: vec![],
                },
            ),
            Event::of(
                "package basic",
                EventKind::Packaged {
                    chaincode: st("basic"),
                    lang: st("go"),
                    package_id: st("basic_1:ab"),
                    bytes: 10,
                    vendored: true,
                    warnings: vec![st(".env looks like a secret")],
                },
            ),
            Event::of(
                "install basic",
                EventKind::Chaincode {
                    chaincode: st("basic"),
                    action: ChaincodeAction::Installed,
                    peer: Some(st("peer0-org1")),
                    org: None,
                    sequence: None,
                },
            ),
            Event::of(
                "approve basic",
                EventKind::Chaincode {
                    chaincode: st("basic"),
                    action: ChaincodeAction::AlreadyApproved,
                    peer: None,
                    org: Some(st("Org1")),
                    sequence: Some(2),
                },
            ),
            Event::of(
                "commit basic",
                EventKind::Deployed {
                    chaincode: st("basic"),
                    channel: st("mychannel"),
                    outcome: DeployOutcome::Completed,
                    package_id: st("basic_1:ab"),
                    version: st("ab"),
                    sequence: 1,
                    installed: vec![st("peer0-org1")],
                    approved: vec![],
                    committed: false,
                    initialized: true,
                },
            ),
            Event::of(
                "invoke basic F",
                EventKind::TxResult {
                    chaincode: st("basic"),
                    function: st("F"),
                    transaction_id: Some(st("tx1")),
                    result: st("ok"),
                    json: None,
                },
            ),
            Event::of(
                "query basic F",
                EventKind::TxResult {
                    chaincode: st("basic"),
                    function: st("F"),
                    transaction_id: None,
                    result: st("[1]"),
                    json: Some(serde_json::json!([1])),
                },
            ),
            Event::of(
                "installed packages",
                EventKind::InstalledPackages {
                    peer: st("peer0-org1"),
                    packages: vec![InstalledPackage {
                        package_id: st("basic_1:ab"),
                        label: st("basic_1"),
                    }],
                },
            ),
            Event::of(
                "committed on c",
                EventKind::CommittedChaincodes {
                    channel: st("c"),
                    chaincodes: vec![CommittedChaincode {
                        name: st("basic"),
                        version: st("1"),
                        sequence: 1,
                        init_required: false,
                        approvals: [(st("Org1MSP"), true)].into(),
                    }],
                },
            ),
            Event::of(
                "logs",
                EventKind::ChaincodeContainer {
                    peer: st("peer0-org1"),
                    container: st("dev-peer0"),
                    state: st("running"),
                },
            ),
            Event::of(
                "logs",
                EventKind::ChaincodeLog {
                    peer: st("peer0-org1"),
                    line: st("hello"),
                },
            ),
            Event::of(
                "watch folders",
                EventKind::Watching {
                    chaincode: st("basic"),
                    path: st("/cc/basic"),
                    files: 3,
                },
            ),
            Event::of(
                "wait for changes",
                EventKind::Changed {
                    chaincode: st("basic"),
                    files: vec![st("~lib/index.js"), st("+lib/new.js")],
                },
            ),
            Event::new(EventKind::Round {
                round: 2,
                chaincodes: vec![st("basic")],
                elapsed: Duration::from_millis(4200),
                steps: vec![crate::events::StepTime {
                    step: st("package basic"),
                    elapsed: Duration::from_millis(900),
                }],
                failed: Some(st("package basic")),
            }),
            Event::of(
                "plan",
                EventKind::Plan(network::reconcile::Plan {
                    first_up: false,
                    actions: vec![network::reconcile::Action::AddPeer {
                        org: st("Org1"),
                        peer: st("peer1-org1"),
                    }],
                    refused: vec![network::reconcile::Refusal {
                        field: st("orgs[1].name"),
                        what: st("org Org2 renamed Org9 (Org2MSP)"),
                        reason: st("an org's name is its channel config group"),
                        instead: st("keep `name: Org2`"),
                    }],
                }),
            ),
            Event::new(EventKind::Check(Check {
                name: st("kind"),
                verdict: Verdict::Warn,
                detail: st("old"),
                hint: Some(st("upgrade")),
            })),
            Event::new(EventKind::Check(Check {
                name: st("docker"),
                verdict: Verdict::Ok,
                detail: st("29"),
                hint: None,
            })),
            Event::new(EventKind::Status(Status {
                workspace: st("fabdev"),
                provider: st("kind"),
                cluster_exists: true,
                nodes: vec![
                    crate::events::NodeStatus {
                        name: st("peer0-org1"),
                        role: st("peer"),
                        pod_ready: Some(true),
                        channels: Ok(vec![st("c")]),
                    },
                    crate::events::NodeStatus {
                        name: st("orderer0"),
                        role: st("orderer"),
                        pod_ready: None,
                        channels: Err(st("no cluster")),
                    },
                ],
            })),
        ];
        let mut buf = Vec::new();
        {
            let mut r = JsonReporter::new(&mut buf);
            for e in events {
                r.emit(e);
            }
        }
        insta::assert_snapshot!(String::from_utf8(buf).unwrap());
    }
}
