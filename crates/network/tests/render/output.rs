//! Errors, the multi-document stream, and the output folder.

use super::*;

#[test]
fn a_missing_crypto_file_names_node_and_file() {
    let ws = default_ws();
    let topo = Topology::of(&ws);
    let mut files = fake_files(&topo);
    files
        .get_mut("peer0-org2")
        .unwrap()
        .remove("tls/server.key");
    let err = render::render(&ws, &topo, &files).unwrap_err();
    match &err {
        RenderError::MissingFile { node, file } => {
            assert_eq!(node, "peer0-org2");
            assert_eq!(file, "tls/server.key");
        }
        other => panic!("{other}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("peer0-org2") && text.contains("tls/server.key"),
        "{text}"
    );

    let mut files = fake_files(&topo);
    files.remove("orderer0-ordererorg");
    let err = render::render(&ws, &topo, &files).unwrap_err();
    assert!(
        matches!(&err, RenderError::NoCrypto { node } if node == "orderer0-ordererorg"),
        "{err}"
    );
    assert!(err.to_string().contains("orderer0-ordererorg"));
}

#[test]
fn multi_doc_stream_holds_every_object() {
    let r = render_ws(&default_ws());
    let s = render::to_multi_doc(&r);
    assert_eq!(s.matches("---\n").count(), r.objects.len());
    assert!(s.starts_with("---\napiVersion: v1\nkind: Namespace\n"));
    let docs: Vec<&str> = s.split("---\n").skip(1).collect();
    for (d, o) in docs.iter().zip(&r.objects) {
        assert_eq!(*d, o.yaml);
    }
}

/// `out` holds exactly the kind config and one file per object, each with
/// the rendered text.
fn assert_written(r: &Rendered, out: &Path) {
    assert_eq!(
        std::fs::read_to_string(out.join("kind-config.yaml")).expect("kind config"),
        r.kind_config
    );
    let mut written: Vec<String> = std::fs::read_dir(out.join("manifests"))
        .expect("manifests folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    let mut wanted: Vec<String> = r.objects.iter().map(|o| o.file_name.clone()).collect();
    wanted.sort();
    assert_eq!(written, wanted, "{}", out.display());
    for o in &r.objects {
        let text =
            std::fs::read_to_string(out.join("manifests").join(&o.file_name)).expect("manifest");
        assert_eq!(text, o.yaml, "{}", o.file_name);
    }
}

#[test]
fn write_out_writes_a_new_folder_and_refuses_an_existing_one() {
    let r = render_ws(&default_ws());
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("nested/out");
    render::write_out(&r, &out).unwrap();
    assert_written(&r, &out);
    for o in &r.objects {
        assert_eq!(
            std::fs::read_to_string(out.join("manifests").join(&o.file_name)).unwrap(),
            o.yaml
        );
    }
    // Nothing left beside it.
    let beside: Vec<_> = std::fs::read_dir(tmp.path().join("nested"))
        .unwrap()
        .collect();
    assert_eq!(beside.len(), 1);

    let err = render::write_out(&r, &out).unwrap_err();
    assert!(matches!(err, RenderError::OutExists { .. }), "{err}");
    assert!(err.to_string().contains("already exists"), "{err}");
    assert!(err.hint().is_some_and(|h| h.contains("--out")), "{err:?}");
    // An existing empty folder is refused too.
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert!(matches!(
        render::write_out(&r, &empty),
        Err(RenderError::OutExists { .. })
    ));
}

/// Writes both workspaces (DIR/default, DIR/three-orgs) and reads back what
/// was written: exactly the kind config and one file per object, with the
/// rendered text. DIR is FABDEV_RENDER_OUT when set (for
/// `scripts/check/validate-manifests.sh`, which then validates the files; each
/// folder must not exist), else a temporary folder.
#[test]
fn written_folders_hold_exactly_what_was_rendered() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = std::env::var_os("FABDEV_RENDER_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| tmp.path().to_path_buf());
    for (name, ws) in [("default", default_ws()), ("three-orgs", three_orgs_ws())] {
        let r = render_ws(&ws);
        let out = dir.join(name);
        render::write_out(&r, &out).unwrap();
        assert_written(&r, &out);
    }
}

#[test]
fn fabric_3_uses_its_own_images_and_nodeenv_2_5() {
    let ws = Workspace::parse(
        "apiVersion: fabdev/v1alpha1\nkind: Workspace\nname: three\nfabric: { version: \"3.1\" }\n",
        Path::new("fabdev.yaml"),
        Path::new("."),
    )
    .unwrap();
    let r = render_ws(&ws);
    let p = parse_back(&r);
    let peer_sts = p
        .statefulsets
        .iter()
        .find(|s| name_of(*s) == "peer0-org1")
        .unwrap();
    let peer = pod(peer_sts)
        .containers
        .iter()
        .find(|c| c.name == "peer")
        .unwrap();
    // "3.1" runs the release pinned for it (spec::FABRIC_RELEASES).
    assert_eq!(peer.image.as_deref(), Some("hyperledger/fabric-peer:3.1.5"));
    assert_eq!(
        env_of(peer, "CORE_CHAINCODE_BUILDER"),
        Some("hyperledger/fabric-ccenv:3.1.5")
    );
    assert_eq!(
        env_of(peer, "CORE_CHAINCODE_GOLANG_RUNTIME"),
        Some("hyperledger/fabric-baseos:3.1.5")
    );
    assert_eq!(
        env_of(peer, "CORE_CHAINCODE_NODE_RUNTIME"),
        Some("hyperledger/fabric-nodeenv:2.5.8")
    );
    let o_sts = p
        .statefulsets
        .iter()
        .find(|s| name_of(*s) == "orderer0-ordererorg")
        .unwrap();
    let orderer = &pod(o_sts).containers[0];
    assert_eq!(
        orderer.image.as_deref(),
        Some("hyperledger/fabric-orderer:3.1.5")
    );
    // `none` is 3.x's only bootstrap method; 2.5 needs it set.
    assert_eq!(
        env_of(orderer, "ORDERER_GENERAL_BOOTSTRAPMETHOD"),
        Some("none")
    );
}

#[cfg(unix)]
#[test]
fn write_out_folder_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    render::write_out(&render_ws(&default_ws()), &out).unwrap();
    let mode = std::fs::metadata(&out).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700, "{mode:o}");
}

/// A render killed midway (SIGKILL, power loss) leaves its temporary folder,
/// private keys included, beside `--out`: the next render there removes it.
/// Folders of renders still running are kept.
#[test]
fn leftovers_of_killed_renders_are_removed_by_the_next_one() {
    let tmp = tempfile::tempdir().unwrap();
    // A process that has exited: its ID names no running process.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let stale = tmp
        .path()
        .join(format!("{}{dead}-abc123", render::RENDER_TMP_PREFIX));
    std::fs::create_dir_all(stale.join("manifests")).unwrap();
    std::fs::write(stale.join("manifests/01-secret-x.yaml"), "tls/server.key").unwrap();
    // One of a render that still runs (this test's own parent process).
    let live = tmp.path().join(format!(
        "{}{}-def456",
        render::RENDER_TMP_PREFIX,
        std::os::unix::process::parent_id()
    ));
    std::fs::create_dir(&live).unwrap();

    render::write_out(&render_ws(&default_ws()), &tmp.path().join("out")).unwrap();
    assert!(!stale.exists(), "the killed render's folder is still there");
    assert!(live.exists(), "a running render's folder was removed");
}
