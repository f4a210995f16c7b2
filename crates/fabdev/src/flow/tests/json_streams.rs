//! The JSON lines of flows as `--output json` writes them, with the
//! workspace's folder and the elapsed times made stable: what CI reads
//! must not change shape when the code behind it moves.

use super::*;
use crate::events::JsonReporter;

fn json_of(dir: &Path, flow: impl AsyncFnOnce(&mut dyn Sink) -> Result<(), FlowError>) -> String {
    let mut buf = Vec::new();
    {
        let mut sink = JsonReporter::new(&mut buf);
        let _ = rt().block_on(flow(&mut sink));
    }
    let text = String::from_utf8(buf).unwrap();
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    text.replace(&dir.display().to_string(), "[WS]")
        .replace(&dir.display().to_string(), "[WS]")
}

fn snapshot(name: &str, text: &str) {
    insta::with_settings!({filters => vec![
        (r#""elapsed_ms":\d+"#, r#""elapsed_ms":0"#),
        (r"/tmp/\.tmp[A-Za-z0-9]+", "[WS]"),
    ]}, {
        insta::assert_snapshot!(name, text);
    });
}

#[test]
fn up_until_kind_is_too_old() {
    let dir = workspace();
    let old = FakeKind {
        version: "v0.20.0",
        ..KIND_OK
    };
    let opts = options(dir.path()).with_runner(old);
    let text = json_of(dir.path(), async |s: &mut dyn Sink| {
        up(&opts, s).await.map(drop)
    });
    snapshot("up_kind_too_old", &text);
}

#[test]
fn a_workspace_that_is_not_there_fails_with_a_hint() {
    let dir = Path::new("/nonexistent/fabdev-ws");
    let opts = options(dir).with_runner(KIND_OK);
    let text = json_of(dir, async |s: &mut dyn Sink| up(&opts, s).await.map(drop));
    snapshot("up_no_workspace", &text);
}

#[test]
fn down_without_a_cluster() {
    let dir = workspace();
    let none = FakeKind {
        version: "v0.33.0",
        clusters: Some(""),
    };
    let opts = options(dir.path()).with_runner(none);
    let text = json_of(dir.path(), async |s: &mut dyn Sink| {
        down(&opts, false, false, s).await.map(drop)
    });
    snapshot("down_no_cluster", &text);
}

#[test]
fn status_of_nodes_that_do_not_answer() {
    let dir = workspace();
    let opts = options(dir.path()).with_runner(KIND_OK);
    let text = json_of(dir.path(), async |s: &mut dyn Sink| {
        status(&opts, s).await.map(drop)
    });
    snapshot("status_no_answers", &text);
}

#[test]
fn channel_create_nobody_answers() {
    let dir = workspace();
    let opts = options(dir.path());
    ensure_crypto(&Context::load(&opts).unwrap()).unwrap();
    let text = json_of(dir.path(), async |s: &mut dyn Sink| {
        create_channels(&opts, None, s).await.map(drop)
    });
    snapshot("channel_create_no_answers", &text);
}

#[test]
fn chaincode_deploy_and_query_nobody_answers() {
    let dir = workspace_with_chaincode("");
    let opts = options(dir.path());
    ensure_crypto(&Context::load(&opts).unwrap()).unwrap();
    let text = json_of(dir.path(), async |s: &mut dyn Sink| {
        crate::flow::chaincodes::lifecycle(
            &opts,
            crate::flow::chaincodes::LifecycleCommand::Deploy,
            crate::flow::chaincodes::Selection::default(),
            s,
        )
        .await
        .map(drop)
    });
    snapshot("chaincode_deploy_no_answers", &text);
    let text = json_of(dir.path(), async |s: &mut dyn Sink| {
        crate::flow::chaincodes::call(
            &opts,
            a_call(crate::flow::chaincodes::CallKind::Query, "Org9"),
            s,
        )
        .await
        .map(drop)
    });
    snapshot("chaincode_query_bad_org", &text);
    let text = json_of(dir.path(), async |s: &mut dyn Sink| {
        crate::flow::chaincodes::list(&opts, s).await
    });
    snapshot("chaincode_list_no_answers", &text);
}
