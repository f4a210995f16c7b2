//! CI's guard on config updates without Fabric binaries: for each recorded
//! change (`scripts/record/config-update-vectors.sh`), fabdev still builds
//! the same two configs and computes exactly the `ConfigUpdate` real
//! `configtxlator compute_update` computed from them.

use std::path::Path;

use network::configtx::{apply_update, decode, modified_items};
use network::fabric::{Message as _, common};
use testnet::update_vectors::{self, CONFIG_UPDATE, Case, update_differences};

const DIR: &str = "../../fixtures/fabric-vectors";

/// The versions recorded; both Fabric lines must be there.
const VERSIONS: [&str; 2] = ["2.5", "3.1"];

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Every problem with one version's recordings.
fn check(root: &Path, version: &str) -> Result<usize, Vec<String>> {
    let dir = root.join(version);
    let cases = update_vectors::cases(root, version).map_err(|e| vec![e])?;
    let listed = std::fs::read_to_string(dir.join("cases")).map_err(|e| vec![e.to_string()])?;
    let names: Vec<&str> = listed.lines().filter_map(|l| l.split(' ').next()).collect();
    let ours: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    if names != ours {
        return Err(vec![format!(
            "recorded cases {names:?}, fabdev's chain has {ours:?}"
        )]);
    }
    let mut problems = Vec::new();
    for case in &cases {
        if let Err(p) = check_case(&dir, case) {
            problems.extend(p.into_iter().map(|p| format!("{}: {p}", case.name)));
        }
    }
    if problems.is_empty() {
        Ok(cases.len())
    } else {
        Err(problems)
    }
}

fn check_case(dir: &Path, case: &Case) -> Result<(), Vec<String>> {
    let one = |e: String| vec![e];
    // The inputs are still the ones configtxlator was given.
    for (suffix, config) in [
        ("original.pb", &case.original),
        ("updated.pb", &case.updated),
    ] {
        if read(&case.file(dir, suffix)).map_err(one)? != config.encode_to_vec() {
            return Err(vec![format!(
                "fabdev now builds another {suffix} than the one recorded"
            )]);
        }
    }
    let theirs: common::ConfigUpdate = decode(
        &read(&case.file(dir, "configtxlator.pb")).map_err(one)?,
        "configtxlator's update",
    )
    .map_err(|e| one(e.to_string()))?;
    let ours = case.update().map_err(one)?;
    let found = update_differences(&ours, &theirs);
    if !found.is_empty() {
        return Err(found);
    }
    // Sanity: the update changes something the orderer would accept.
    let applied =
        apply_update(&case.original, &ours, &case.channel).map_err(|e| one(e.to_string()))?;
    if applied.sequence != case.original.sequence + 1 {
        return Err(one("the applied update did not raise the sequence".into()));
    }
    let modified = modified_items(&case.original, &ours).map_err(|e| one(e.to_string()))?;
    if modified.is_empty() {
        return Err(one("the update modifies no existing element".into()));
    }
    Ok(())
}

#[test]
fn recorded_config_updates_match_fabdevs() {
    let root = Path::new(DIR).join(CONFIG_UPDATE);
    let mut checked = 0;
    for version in VERSIONS {
        let recorded_with = std::fs::read_to_string(root.join(version).join("RECORDED_WITH"))
            .unwrap_or_else(|e| {
                panic!("no config-update vectors recorded for Fabric {version} ({e}): run scripts/record/config-update-vectors.sh")
            });
        checked += check(&root, version).unwrap_or_else(|p| {
            panic!(
                "config updates for Fabric {version}: fabdev's differ from what configtxlator {} computed:\n{}\n\
                 hint: if the change is intended, record again against real Fabric (scripts/record/config-update-vectors.sh)",
                recorded_with.trim(),
                p.join("\n")
            )
        });
    }
    // Seven changes on both lines, and Fabric 3's BFT consenter added and
    // removed.
    assert_eq!(checked, 7 * VERSIONS.len() + 2);
}

/// `up`'s wanted config for an orderer added or removed (the channel's
/// config with only the consenter set, the block validation policy and the
/// orderer org's endpoints from fabdev's builder:
/// `network::configtx::with_consenters`) gives exactly the update
/// configtxlator computed for the recorded consenter changes, Raft on both
/// lines and BFT on Fabric 3.
#[test]
fn an_orderer_added_or_removed_by_up_is_configtxlators_update() {
    let root = Path::new(DIR).join(CONFIG_UPDATE);
    let mut checked = Vec::new();
    for version in VERSIONS {
        let cases = update_vectors::cases(&root, version).expect("cases");
        for case in cases.iter().filter(|c| c.name.contains("consenter")) {
            let wanted =
                network::configtx::with_consenters(&case.original, &case.updated).expect("wanted");
            let ours = network::configtx::compute_update(&case.original, &wanted, &case.channel)
                .expect("update");
            let found = update_differences(&ours, &recorded(&root, version, case));
            assert!(
                found.is_empty(),
                "Fabric {version} {}: {found:#?}",
                case.name
            );
            checked.push(format!("{version} {}", case.name));
        }
    }
    assert_eq!(
        checked,
        [
            "2.5 05-consenter-added",
            "2.5 06-consenter-removed",
            "3.1 05-consenter-added",
            "3.1 06-consenter-removed",
            "3.1 08-bft-consenter-added",
            "3.1 09-bft-consenter-removed",
        ]
    );
}

/// The update configtxlator computed for `case`, as recorded.
fn recorded(root: &Path, version: &str, case: &Case) -> common::ConfigUpdate {
    decode(
        &read(&case.file(&root.join(version), "configtxlator.pb")).expect("recorded"),
        "configtxlator's update",
    )
    .expect("decode")
}

/// `up`'s wanted config for an org added to a running channel (the channel's
/// config with only the org's group from fabdev's builder) gives exactly
/// the update configtxlator computed for the recorded `01-add-org`.
#[test]
fn an_org_added_by_up_is_configtxlators_update() {
    let root = Path::new(DIR).join(CONFIG_UPDATE);
    for version in VERSIONS {
        let cases = update_vectors::cases(&root, version).expect("cases");
        let case = cases
            .iter()
            .find(|c| c.name == "01-add-org")
            .expect("01-add-org");
        assert_eq!(
            network::configtx::application_orgs(&case.original),
            ["Org1", "Org2"]
        );
        let wanted = network::configtx::with_orgs(&case.original, &case.updated, &["Org3".into()])
            .expect("wanted");
        let ours = network::configtx::compute_update(&case.original, &wanted, &case.channel)
            .expect("update");
        let found = update_differences(&ours, &recorded(&root, version, case));
        assert!(found.is_empty(), "Fabric {version}: {found:#?}");
    }
}

/// The policies each recorded change must be signed for, as Fabric's
/// orderer evaluates them (the existing elements the update modifies).
#[test]
fn recorded_changes_need_the_expected_policies() {
    let root = Path::new(DIR).join(CONFIG_UPDATE);
    let cases = update_vectors::cases(&root, "2.5").expect("cases");
    let policies = |name: &str| -> Vec<String> {
        let case = cases
            .iter()
            .find(|c| c.name.ends_with(name))
            .unwrap_or_else(|| panic!("case {name}"));
        let update = case.update().expect("update");
        let mut p: Vec<String> = modified_items(&case.original, &update)
            .expect("modified")
            .into_iter()
            .map(|m| m.policy_path)
            .collect();
        p.dedup();
        p
    };
    assert_eq!(policies("add-org"), ["/Channel/Application/Admins"]);
    assert_eq!(policies("batch-timeout"), ["/Channel/Orderer/Admins"]);
    assert_eq!(policies("batch-size"), ["/Channel/Orderer/Admins"]);
    assert_eq!(
        policies("anchor-peers"),
        ["/Channel/Application/Org1/Admins"]
    );
    assert_eq!(
        policies("consenter-added"),
        [
            "/Channel/Orderer/Admins",
            "/Channel/Orderer/OrdererOrg/Admins"
        ]
    );
    assert_eq!(policies("org-removed"), ["/Channel/Application/Admins"]);
}

/// A recorded update that differs in one element fails the check, naming it.
#[test]
fn a_tampered_recording_fails_the_check() {
    let root = Path::new(DIR).join(CONFIG_UPDATE);
    let tmp = tempfile::tempdir().expect("tempdir");
    let copy = tmp.path().join(CONFIG_UPDATE);
    testkit::copy_tree(&root, &copy);
    check(&copy, "2.5").expect("the untouched copy");
    let case = update_vectors::cases(&copy, "2.5")
        .expect("cases")
        .into_iter()
        .find(|c| c.name.ends_with("batch-timeout"))
        .expect("case");
    let path = case.file(&copy.join("2.5"), "configtxlator.pb");
    let mut theirs: common::ConfigUpdate =
        decode(&std::fs::read(&path).expect("read"), "update").expect("decode");
    let timeout = theirs
        .write_set
        .as_mut()
        .and_then(|w| w.groups.get_mut("Orderer"))
        .and_then(|o| o.values.get_mut("BatchTimeout"))
        .expect("the batch timeout in the write set");
    timeout.version += 1;
    std::fs::write(&path, theirs.encode_to_vec()).expect("write");
    let problems = check(&copy, "2.5").expect_err("tampered");
    assert!(
        problems
            .iter()
            .any(|p| p.contains("batch-timeout") && p.contains("/Channel/Orderer/BatchTimeout")),
        "{problems:?}"
    );
}

/// The same chain, computed now by the real `configtxlator compute_update`
/// of `FABRIC_HOME` (not the recording): fabdev's update is Fabric's.
#[test]
#[cfg_attr(
    not(fabric_binaries),
    ignore = "no Fabric binaries: set FABRIC_HOME to a Fabric release folder (bin/, config/)"
)]
fn real_fabric_configtxlator_computes_fabdevs_updates() {
    let fabric = testnet::FabricHome::find()
        .unwrap_or_else(|e| panic!("built with Fabric binaries, but: {e}"));
    let root = Path::new(DIR).join(CONFIG_UPDATE);
    let cases = update_vectors::cases(&root, &fabric.two_digit_version()).expect("cases");
    let tmp = tempfile::tempdir().expect("tempdir");
    for case in &cases {
        let (original, updated, out) = (
            case.file(tmp.path(), "original.pb"),
            case.file(tmp.path(), "updated.pb"),
            case.file(tmp.path(), "configtxlator.pb"),
        );
        std::fs::write(&original, case.original.encode_to_vec()).expect("write");
        std::fs::write(&updated, case.updated.encode_to_vec()).expect("write");
        let run = std::process::Command::new(fabric.bin("configtxlator"))
            .args([
                "compute_update",
                "--channel_id",
                &case.channel,
                "--original",
            ])
            .arg(&original)
            .arg("--updated")
            .arg(&updated)
            .arg("--output")
            .arg(&out)
            .output()
            .expect("run configtxlator");
        assert!(
            run.status.success(),
            "{}: configtxlator compute_update: {}",
            case.name,
            String::from_utf8_lossy(&run.stderr)
        );
        let theirs: common::ConfigUpdate =
            decode(&std::fs::read(&out).expect("read"), "update").expect("decode");
        let found = update_differences(&case.update().expect("update"), &theirs);
        assert!(
            found.is_empty(),
            "{} (Fabric {}): fabdev's update differs from configtxlator's:\n{}",
            case.name,
            fabric.version(),
            found.join("\n")
        );
    }
    // Fabric 3 adds the BFT consenter changes.
    let expected = if fabric.two_digit_version().starts_with('3') {
        9
    } else {
        7
    };
    assert_eq!(cases.len(), expected);
}
