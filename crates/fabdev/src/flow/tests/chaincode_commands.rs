//! The chaincode commands' steps: where each fails without a network.

use super::*;

#[test]
fn the_chaincode_commands_fail_in_the_step_that_finds_the_problem() {
    use crate::flow::chaincodes::{LifecycleCommand as C, Selection};
    let dir = workspace_with_chaincode("");
    let opts = options(dir.path());
    let ctx = Context::load(&opts).unwrap();
    ensure_crypto(&ctx).unwrap();
    let lifecycle = |command, sel: Selection| {
        let opts = opts.clone();
        let mut events: Vec<Event> = Vec::new();
        let r = rt().block_on(crate::flow::chaincodes::lifecycle(
            &opts,
            command,
            sel,
            &mut events,
        ));
        (r.unwrap_err(), failed_step(&events))
    };

    // A chaincode fabdev.yaml does not list: bad input, in `chaincodes`.
    let (e, step) = lifecycle(
        C::Deploy,
        Selection {
            name: Some("nosuch".into()),
            ..Selection::default()
        },
    );
    assert_eq!(step, "chaincodes");
    assert!(e.is_bad_input(), "{e}");
    assert!(e.to_string().contains("its chaincodes: basic"), "{e}");
    // A channel the workspace does not have.
    let (e, step) = lifecycle(
        C::Install,
        Selection {
            channel: Some("other".into()),
            ..Selection::default()
        },
    );
    assert_eq!(step, "chaincodes");
    assert!(
        e.is_bad_input() && e.to_string().contains("mychannel"),
        "{e}"
    );
    // A folder with neither go.mod nor package.json.
    let (e, step) = lifecycle(
        C::Deploy,
        Selection {
            path: Some(dir.path().join(".fabdev")),
            ..Selection::default()
        },
    );
    assert_eq!(step, "chaincodes");
    assert!(e.is_bad_input(), "{e}");

    // Packaged, then no peer answers: the install step's failure, naming the peer.
    let (e, step) = lifecycle(C::Deploy, Selection::default());
    assert_eq!(step, "install basic");
    assert!(!e.is_bad_input());
    assert!(e.to_string().contains("peer0-org1"), "{e}");
    let (_, step) = lifecycle(C::Approve, Selection::default());
    assert_eq!(step, "approve basic");

    // An org that is not there: bad input in the call's step, before any dial.
    let mut events: Vec<Event> = Vec::new();
    let e = rt()
        .block_on(crate::flow::chaincodes::call(
            &opts,
            a_call(crate::flow::chaincodes::CallKind::Query, "Org9"),
            &mut events,
        ))
        .unwrap_err();
    assert_eq!(failed_step(&events), "query basic ReadAsset");
    assert!(e.is_bad_input(), "{e}");
    assert!(e.to_string().contains("Org1, Org2"), "{e}");
    let mut events: Vec<Event> = Vec::new();
    let e = rt()
        .block_on(crate::flow::chaincodes::call(
            &opts,
            a_call(crate::flow::chaincodes::CallKind::Invoke, "Org1"),
            &mut events,
        ))
        .unwrap_err();
    assert_eq!(failed_step(&events), "invoke basic ReadAsset");
    assert!(!e.is_bad_input(), "{e}");

    let mut events: Vec<Event> = Vec::new();
    rt().block_on(crate::flow::chaincodes::list(&opts, &mut events))
        .unwrap_err();
    assert_eq!(failed_step(&events), "installed packages");
}

#[test]
fn init_required_adds_an_init_step_after_commit() {
    use crate::flow::chaincodes::{LifecycleCommand as C, Selection};
    let dir = workspace_with_chaincode(", initRequired: true, initArgs: [InitLedger]");
    let opts = options(dir.path());
    let ctx = Context::load(&opts).unwrap();
    let all = Selection::default();
    for (command, expected) in [
        (
            C::Deploy,
            &[
                "package basic",
                "install basic",
                "approve basic",
                "commit basic",
                "init basic",
                "start basic",
            ][..],
        ),
        (
            C::Instantiate,
            &[
                "package basic",
                "approve basic",
                "commit basic",
                "init basic",
            ],
        ),
        (C::Commit, &["package basic", "commit basic"]),
    ] {
        let list = names(crate::flow::chaincodes::lifecycle_steps(
            &ctx, command, &all,
        ));
        assert_eq!(list[2..], *expected, "{command:?}");
        each_step_fails_as_itself(&list);
    }
    let up = names(up::steps::<FakeKind>(&ctx));
    assert_eq!(
        up[up.len() - 3..],
        ["init basic", "start basic", "record what was applied"]
    );
    // Packaged (no longer refused), then no peer answers.
    ensure_crypto(&ctx).unwrap();
    let mut events: Vec<Event> = Vec::new();
    let e = rt()
        .block_on(crate::flow::chaincodes::lifecycle(
            &opts,
            C::Deploy,
            Selection::default(),
            &mut events,
        ))
        .unwrap_err();
    assert_eq!(failed_step(&events), "install basic", "{e}");
}
