#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use cluster::kind::{CommandSpec, Output, Runner};
use http::{Request, Response};
use kube::client::Body;

use super::steps::{Step, StepFn, StepFuture, run_steps};
use super::*;
use crate::errors::Hint;
use crate::events::{Event, EventKind, Sink};
use network::spec::Lang;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A workspace folder with the default network on host ports nothing
/// listens on (a block at the top of the NodePort range).
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("fabdev.yaml"),
        "apiVersion: fabdev/v1alpha1\nkind: Workspace\nhostPortBase: 32700\n",
    )
    .unwrap();
    dir
}

/// Writes `<dir>/.fabdev/<name>`.
fn state_file(dir: &Path, name: &str, text: &str) {
    std::fs::create_dir_all(dir.join(STATE_DIR)).unwrap();
    std::fs::write(dir.join(STATE_DIR).join(name), text).unwrap();
}

/// Options whose kind binary is a file that exists (the fake runner answers
/// in its place).
fn options(dir: &Path) -> Options {
    let mut opts = Options::new(dir);
    opts.kind = Some(dir.join("fabdev.yaml"));
    opts.wait_timeout = Duration::from_secs(2);
    opts
}

/// kind as a fake: `version` answers `version`, `get clusters` answers
/// `clusters`, anything else fails.
#[derive(Debug, Clone, Copy)]
struct FakeKind {
    version: &'static str,
    clusters: Option<&'static str>,
}

/// A command's arguments as text.
fn args_of(cmd: &CommandSpec) -> Vec<String> {
    cmd.args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

impl Runner for FakeKind {
    async fn run(&self, cmd: &CommandSpec) -> std::io::Result<Output> {
        let args = args_of(cmd);
        let ok = |stdout: &str| Output {
            code: Some(0),
            stdout: stdout.into(),
            stderr: String::new(),
        };
        Ok(match (args.first().map(String::as_str), &self.clusters) {
            (Some("version"), _) => ok(&format!("kind {} go1.24.2 linux/amd64", self.version)),
            (Some("get"), Some(c)) => ok(c),
            _ => Output {
                code: Some(1),
                stdout: String::new(),
                stderr: format!("fake kind refuses {args:?}"),
            },
        })
    }
}

const KIND_OK: FakeKind = FakeKind {
    version: "v0.33.0",
    clusters: Some("fabdev\n"),
};
const KIND_BROKEN: FakeKind = FakeKind {
    version: "v0.33.0",
    clusters: None,
};

/// The step that failed, and that every failure is a step's: no error
/// reached the sink outside a step.
fn failed_step(events: &[Event]) -> String {
    let failed: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Event {
                step: Some(step),
                kind: EventKind::StepFailed { .. },
            } => Some(step.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(failed.len(), 1, "{events:#?}");
    assert!(
        matches!(
            events.last(),
            Some(Event {
                kind: EventKind::StepFailed { .. },
                ..
            })
        ),
        "the failure ends the run: {events:#?}"
    );
    failed[0].to_string()
}

fn fail_step<'a, S>(_: &'a mut S, _: &'a str, _: &'a mut dyn Sink) -> StepFuture<'a> {
    Box::pin(async {
        Err(FlowError::NoCluster {
            name: "injected".into(),
        })
    })
}

fn pass_step<'a, S>(_: &'a mut S, _: &'a str, _: &'a mut dyn Sink) -> StepFuture<'a> {
    Box::pin(async { Ok(None) })
}

/// Runs the steps named `names` with step `i` failing and the ones before
/// it passing, for every `i`: the failure is reported as that step's
/// `step_failed`, and nothing fails outside a step.
fn each_step_fails_as_itself(names: &[String]) {
    assert!(!names.is_empty());
    for i in 0..names.len() {
        let steps: Vec<Step<()>> = names[..=i]
            .iter()
            .enumerate()
            .map(|(j, name)| {
                let run: StepFn<()> = if j == i { fail_step } else { pass_step };
                Step::new(name, run)
            })
            .collect();
        let mut events: Vec<Event> = Vec::new();
        let r = rt().block_on(run_steps(&mut (), steps, &mut events));
        assert!(r.is_err());
        assert_eq!(failed_step(&events), names[i]);
    }
}

fn names<S>(steps: Vec<Step<S>>) -> Vec<String> {
    steps.iter().map(|s| s.name().to_string()).collect()
}

/// Every flow's step list, by name, and [`run_steps`] over each: an
/// injected failure at any position is reported as that step's
/// `step_failed`. The real steps are swapped for injected ones, so this
/// checks the lists and the runner, not the steps' own code.
#[test]
fn step_lists_of_every_flow_and_run_steps_reporting_an_injected_failure_as_its_step() {
    let dir = workspace();
    let ctx = Context::load(&options(dir.path())).unwrap();
    // The lists the flows run after `workspace` (whose own failures the
    // tests below make for real).
    let up = names(up::steps::<FakeKind>(&ctx));
    assert_eq!(up.len(), 20, "{up:?}");
    assert_eq!(up[..2], ["plan", "crypto material"]);
    assert_eq!(up[18..], ["connection profiles", "record what was applied"]);
    let down = names(down::steps::<FakeKind>(&ctx, false));
    assert_eq!(down, ["kind cluster fabdev", "runtime state"]);
    let down_keep = names(down::steps::<FakeKind>(&ctx, true));
    assert_eq!(down_keep, ["namespace fabdev", "runtime state"]);
    let status = names(status::steps::<FakeKind>(&ctx));
    assert_eq!(status, ["kind cluster fabdev", "pods", "channels"]);
    let channel = names(channel::steps(&ctx, None));
    assert_eq!(channel, ["node endpoints", "channel mychannel"]);
    let render = names(render::steps(Some(Path::new("out"))));
    assert_eq!(
        render,
        ["crypto material", "render Kubernetes objects", "write out"]
    );
    for list in [up, down, down_keep, status, channel, render] {
        each_step_fails_as_itself(&list);
    }

    // With a chaincode: `up` ends with its deploy, and the chaincode
    // commands.
    let dir = workspace_with_chaincode("");
    let ctx = Context::load(&options(dir.path())).unwrap();
    let up = names(up::steps::<FakeKind>(&ctx));
    assert_eq!(
        up[19..],
        [
            "package basic",
            "install basic",
            "approve basic",
            "commit basic",
            "start basic",
            "record what was applied"
        ]
    );
    use super::chaincodes::{LifecycleCommand as C, Selection};
    let all = Selection::default();
    let lists = [
        (
            C::Deploy,
            &[
                "package basic",
                "install basic",
                "approve basic",
                "commit basic",
                "start basic",
            ][..],
        ),
        (C::Install, &["package basic", "install basic"]),
        (C::Approve, &["package basic", "approve basic"]),
        (C::Commit, &["package basic", "commit basic"]),
        (
            C::Instantiate,
            &["package basic", "approve basic", "commit basic"],
        ),
    ];
    let mut every = vec![up];
    for (command, expected) in lists {
        let list = names(super::chaincodes::lifecycle_steps(&ctx, command, &all));
        assert_eq!(list[..2], ["node endpoints", "chaincodes"]);
        assert_eq!(list[2..], *expected, "{command:?}");
        every.push(list);
    }
    let call = names(super::chaincodes::call_steps(&a_call(
        super::chaincodes::CallKind::Invoke,
        "Org1",
    )));
    assert_eq!(call, ["node endpoints", "invoke basic ReadAsset"]);
    let query = names(super::chaincodes::call_steps(&a_call(
        super::chaincodes::CallKind::Query,
        "Org1",
    )));
    assert_eq!(query, ["node endpoints", "query basic ReadAsset"]);
    let list = names(super::chaincodes::list_steps(&ctx));
    assert_eq!(
        list,
        [
            "node endpoints",
            "installed packages",
            "committed on mychannel"
        ]
    );
    let logs = names(super::logs::steps(&ctx));
    assert_eq!(
        logs,
        ["peers", "kubernetes client", "chaincode containers", "logs"]
    );
    every.extend([call, query, list, logs]);
    for list in every {
        each_step_fails_as_itself(&list);
    }
}

/// A workspace on an existing cluster, named by a kubeconfig in the
/// workspace with contexts `alpha` (current) and `beta`, whose server
/// nothing answers at.
fn existing_workspace(cluster_extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("kube.yaml"),
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\n\
         users:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: alpha\n  context:\n    cluster: c\n    user: u\n\
         - name: beta\n  context:\n    cluster: c\n    user: u\ncurrent-context: alpha\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("fabdev.yaml"),
        format!(
            "apiVersion: fabdev/v1alpha1\nkind: Workspace\nhostPortBase: 32700\n\
             cluster: {{ provider: existing, kubeconfig: kube.yaml{cluster_extra} }}\n"
        ),
    )
    .unwrap();
    dir
}

#[test]
fn existing_cluster_flows_have_their_own_steps() {
    let dir = existing_workspace("");
    let ctx = Context::load(&options(dir.path())).unwrap();
    assert_eq!(
        ctx.target,
        Target::Existing(cluster::k8s::Access {
            kubeconfig: Some(dir.path().join("kube.yaml")),
            context: None,
            untrusted_root: Some(network::spec::workspace_root(dir.path())),
        })
    );
    // No kind, no node images, no cluster to make or load into: the
    // cluster's context, the builder images for the DinDs, then as on kind.
    let up = names(up::steps::<FakeKind>(&ctx));
    assert_eq!(
        up,
        [
            "plan",
            "existing cluster",
            "crypto material",
            "render Kubernetes objects",
            "image hyperledger/fabric-ccenv:2.5.14",
            "image hyperledger/fabric-baseos:2.5.14",
            "image hyperledger/fabric-nodeenv:2.5.8",
            "apply objects",
            "wait for orderers and peers Ready",
            "builder images in every peer's DinD",
            "node endpoints",
            "channel mychannel",
            "connection profiles",
            "record what was applied",
        ]
    );
    // down never deletes the cluster, with or without --keep-cluster.
    let down = names(down::steps::<FakeKind>(&ctx, false));
    assert_eq!(down, ["namespace fabdev", "runtime state"]);
    assert_eq!(names(down::steps::<FakeKind>(&ctx, true)), down);
    let status = names(status::steps::<FakeKind>(&ctx));
    assert_eq!(status, ["existing cluster", "pods", "channels"]);
    for list in [up, down, status] {
        each_step_fails_as_itself(&list);
    }
}

/// The peers' daemons get what the declared languages' chaincode runs on,
/// nothing without chaincode; Go's builder, the largest image, only with Go
/// declared and when fabdev cannot build (issue 18): `up` pulls every image
/// on the host either way, builders first.
#[test]
fn dinds_get_only_the_declared_languages_runtimes() {
    let dir = existing_workspace("");
    let ctx = Context::load(&options(dir.path())).unwrap();
    let mut images = ctx.images();
    let im = &ctx.ws.images;
    assert!(images.declared.is_empty());
    assert!(images.for_dind(true).is_empty());
    assert!(images.for_dind(false).is_empty());
    images.declared = [Lang::Node].into();
    assert_eq!(images.for_dind(false), std::slice::from_ref(&im.nodeenv));
    images.declared = [Lang::Go].into();
    assert_eq!(images.for_dind(true), std::slice::from_ref(&im.baseos));
    assert_eq!(
        images.for_dind(false),
        [im.baseos.clone(), im.ccenv.clone()]
    );
    images.declared = [Lang::Go, Lang::Node].into();
    assert_eq!(
        images.for_dind(true),
        [im.baseos.clone(), im.nodeenv.clone()]
    );
    assert_eq!(
        images.for_peers().collect::<Vec<_>>(),
        [&im.ccenv, &im.baseos, &im.nodeenv]
    );
}

#[test]
fn cluster_flags_win_over_the_spec() {
    let dir = existing_workspace(", context: beta");
    let mut opts = options(dir.path());
    let ctx = Context::load(&opts).unwrap();
    let Target::Existing(access) = &ctx.target else {
        panic!("{:?}", ctx.target)
    };
    assert_eq!(access.context.as_deref(), Some("beta"));
    opts.cluster.context = Some("alpha".into());
    opts.cluster.kubeconfig = Some("/elsewhere/kubeconfig".into());
    let Target::Existing(access) = Context::load(&opts).unwrap().target else {
        panic!()
    };
    assert_eq!(access.context.as_deref(), Some("alpha"));
    assert_eq!(
        access.kubeconfig.as_deref(),
        Some(Path::new("/elsewhere/kubeconfig"))
    );
    // --provider kind over the spec: kind, and the render has the NodePort
    // host Services again.
    opts.cluster = ClusterFlags {
        provider: Some(network::spec::Provider::Kind),
        ..ClusterFlags::default()
    };
    let ctx = Context::load(&opts).unwrap();
    assert_eq!(ctx.target, Target::Kind);
    // --context with kind is bad input, in the workspace step.
    opts.cluster.context = Some("alpha".into());
    let e = Context::load(&opts).unwrap_err();
    assert!(
        e.is_bad_input() && e.hint().is_some_and(|h| h.contains("--provider existing")),
        "{e}"
    );
    let fail = failure_of(async |s: &mut dyn Sink| up(&opts.clone().with_runner(KIND_OK), s).await);
    assert_eq!(fail, "workspace");
    // --provider existing on a kind spec, without a kubeconfig: $KUBECONFIG
    // or ~/.kube/config, as kubectl reads them.
    let dir = workspace();
    let mut opts = options(dir.path());
    opts.cluster.provider = Some(network::spec::Provider::Existing);
    assert_eq!(
        Context::load(&opts).unwrap().target,
        Target::Existing(cluster::k8s::Access {
            untrusted_root: Some(network::spec::workspace_root(dir.path())),
            ..cluster::k8s::Access::default()
        })
    );
}

#[test]
fn existing_cluster_renders_no_host_services() {
    let count = |dir: &Path, flags: ClusterFlags| {
        let mut opts = options(dir);
        opts.cluster = flags;
        let ctx = Context::load(&opts).unwrap();
        ensure_crypto(&ctx).unwrap();
        let r = render_objects(&ctx).unwrap();
        let host = r
            .objects
            .iter()
            .filter(|o| o.name.ends_with("-host"))
            .count();
        // Every kind fabdev renders is one doctor checks RBAC for.
        for o in &r.objects {
            assert!(
                cluster::doctor::APPLIED_KINDS
                    .iter()
                    .any(|(k, ..)| *k == o.kind),
                "doctor does not check RBAC for {}",
                o.kind
            );
        }
        (r.objects.len(), host)
    };
    let dir = existing_workspace("");
    let (existing, host) = count(dir.path(), ClusterFlags::default());
    assert_eq!(host, 0);
    let kind = ClusterFlags {
        provider: Some(network::spec::Provider::Kind),
        ..ClusterFlags::default()
    };
    let (on_kind, host) = count(dir.path(), kind);
    assert_eq!((on_kind - existing, host), (3, 3));
}

#[test]
fn existing_cluster_step_fails_on_bad_access_and_refuses_load_images() {
    let dir = existing_workspace("");
    let mut opts = options(dir.path());
    // A context the kubeconfig does not have: named with the ones it has.
    opts.cluster.context = Some("gamma".into());
    let mut events: Vec<Event> = Vec::new();
    let e = rt()
        .block_on(up(&opts.clone().with_runner(KIND_BROKEN), &mut events))
        .unwrap_err();
    assert_eq!(failed_step(&events), "existing cluster");
    assert!(e.is_bad_input(), "{e}");
    assert!(
        e.to_string()
            .contains("context \"gamma\" is not in the kubeconfig")
            && e.to_string().contains("alpha, beta"),
        "{e}"
    );
    // A server that does not answer: said with the context and server.
    opts.cluster.context = None;
    let mut events: Vec<Event> = Vec::new();
    let e = rt()
        .block_on(up(&opts.clone().with_runner(KIND_BROKEN), &mut events))
        .unwrap_err();
    assert_eq!(failed_step(&events), "existing cluster");
    assert!(
        e.to_string()
            .contains("the API server of context alpha (https://127.0.0.1:1) does not answer"),
        "{e}"
    );
    // status fails in the same step; down's namespace step says the same.
    let fail = failure_of(async |s: &mut dyn Sink| {
        status(&opts.clone().with_runner(KIND_BROKEN), s).await
    });
    assert_eq!(fail, "existing cluster");
    let fail = failure_of(async |s: &mut dyn Sink| {
        down(&opts.clone().with_runner(KIND_BROKEN), false, false, s).await
    });
    assert_eq!(fail, "namespace fabdev");
    // --load-images: refused, as bad input, when the workspace loads.
    opts.cluster.load_images = true;
    let mut events: Vec<Event> = Vec::new();
    let e = rt()
        .block_on(up(&opts.clone().with_runner(KIND_BROKEN), &mut events))
        .unwrap_err();
    assert_eq!(failed_step(&events), "workspace");
    assert!(e.is_bad_input(), "{e}");
    assert!(
        e.to_string().contains("--load-images is not implemented"),
        "{e}"
    );
    // On kind it is what up does anyway.
    opts.cluster.provider = Some(network::spec::Provider::Kind);
    assert_eq!(Context::load(&opts).unwrap().target, Target::Kind);
}

/// A workspace whose fabdev.yaml lists a copy of the Node fixture as
/// `basic` (with `extra` added to its entry), on host ports nothing listens
/// on.
fn workspace_with_chaincode(extra: &str) -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                copy(&e.path(), &to.join(e.file_name()));
            } else {
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/chaincode/node");
    copy(&fixture, &dir.path().join("chaincode/node"));
    std::fs::write(
        dir.path().join("fabdev.yaml"),
        format!(
            "apiVersion: fabdev/v1alpha1\nkind: Workspace\nhostPortBase: 32700\n\
             chaincodes:\n  - {{ name: basic, path: chaincode/node{extra} }}\n"
        ),
    )
    .unwrap();
    dir
}

fn a_call(kind: super::chaincodes::CallKind, org: &str) -> super::chaincodes::Call {
    super::chaincodes::Call {
        kind,
        chaincode: "basic".into(),
        function: "ReadAsset".into(),
        args: vec!["asset1".into()],
        caller: chaincode::lifecycle::Caller {
            org: org.into(),
            user: "User1".into(),
        },
        transient: Default::default(),
        channel: None,
    }
}

/// Runs a flow into a fresh event list; returns the failed step.
fn failure_of<T: std::fmt::Debug>(
    flow: impl AsyncFnOnce(&mut dyn Sink) -> Result<T, FlowError>,
) -> String {
    let mut events: Vec<Event> = Vec::new();
    let r = rt().block_on(flow(&mut events));
    assert!(r.is_err(), "{r:?}");
    failed_step(&events)
}

#[test]
fn a_workspace_that_does_not_exist_fails_the_workspace_step_of_every_flow() {
    let opts = options(Path::new("/nonexistent/fabdev-ws"));
    let fail = failure_of(async |s: &mut dyn Sink| up(&opts.clone().with_runner(KIND_OK), s).await);
    assert_eq!(fail, "workspace");
    let fail = failure_of(async |s: &mut dyn Sink| {
        down(&opts.clone().with_runner(KIND_OK), false, false, s).await
    });
    assert_eq!(fail, "workspace");
    let fail =
        failure_of(async |s: &mut dyn Sink| status(&opts.clone().with_runner(KIND_OK), s).await);
    assert_eq!(fail, "workspace");
    let fail = failure_of(async |s: &mut dyn Sink| create_channels(&opts, None, s).await);
    assert_eq!(fail, "workspace");
    // And it is bad input.
    assert!(Context::load(&opts).unwrap_err().is_bad_input());
}

#[test]
fn up_fails_in_its_crypto_and_kind_steps() {
    let dir = workspace();
    let opts = options(dir.path());
    // A file where the crypto folder goes.
    state_file(dir.path(), "crypto", "not a folder");
    let fail = failure_of(async |s: &mut dyn Sink| up(&opts.clone().with_runner(KIND_OK), s).await);
    assert_eq!(fail, "crypto material");
    std::fs::remove_file(dir.path().join(".fabdev/crypto")).unwrap();

    let old = FakeKind {
        version: "v0.20.0",
        ..KIND_OK
    };
    let fail = failure_of(async |s: &mut dyn Sink| up(&opts.clone().with_runner(old), s).await);
    assert_eq!(fail, "kind");
}

#[test]
fn down_and_status_fail_in_their_kind_cluster_step() {
    let dir = workspace();
    let opts = options(dir.path());
    let fail = failure_of(async |s: &mut dyn Sink| {
        down(&opts.clone().with_runner(KIND_BROKEN), false, false, s).await
    });
    assert_eq!(fail, "kind cluster fabdev");
    let fail = failure_of(async |s: &mut dyn Sink| {
        status(&opts.clone().with_runner(KIND_BROKEN), s).await
    });
    assert_eq!(fail, "kind cluster fabdev");
}

#[test]
fn a_bad_kubeconfig_fails_the_step_that_needs_the_cluster() {
    let dir = workspace();
    let opts = options(dir.path());
    state_file(dir.path(), "kubeconfig", "not: [a kubeconfig");
    let fail =
        failure_of(async |s: &mut dyn Sink| status(&opts.clone().with_runner(KIND_OK), s).await);
    assert_eq!(fail, "pods");
    let fail = failure_of(async |s: &mut dyn Sink| {
        down(&opts.clone().with_runner(KIND_OK), true, false, s).await
    });
    assert_eq!(fail, "namespace fabdev");
    let fail = failure_of(async |s: &mut dyn Sink| create_channels(&opts, None, s).await);
    assert_eq!(fail, "node endpoints");
}

#[test]
fn a_channel_nobody_answers_for_fails_its_channel_step() {
    let dir = workspace();
    let opts = options(dir.path());
    let ctx = Context::load(&opts).unwrap();
    ensure_crypto(&ctx).unwrap();
    // No kubeconfig: the host ports, where nothing listens.
    let mut events: Vec<Event> = Vec::new();
    let r = rt().block_on(create_channels(&opts, None, &mut events));
    assert!(r.is_err());
    assert_eq!(failed_step(&events), "channel mychannel");
    // The join's failure is a typed event of that step.
    assert!(
        events
            .iter()
            .any(|e| e.step.as_deref() == Some("channel mychannel")
                && matches!(
                    e.kind,
                    EventKind::Channel {
                        state: crate::events::JoinState::Failed,
                        ..
                    }
                )),
        "{events:#?}"
    );
}

mod chaincode_commands;
mod endpoints;
mod json_streams;
mod kind_ownership;
mod plan;
mod watch;
