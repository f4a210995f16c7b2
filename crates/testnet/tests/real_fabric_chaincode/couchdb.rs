//! CouchDB state: a peer with `stateDatabase: couchdb` runs its rendered
//! CouchDB sidecar (a CouchDB release, `COUCHDB_HOME`), a chaincode's rich
//! query answers through the index its package ships, and CouchDB and
//! Erlang listen on the pod's loopback only.

use super::*;

const TEST: &str = "real_fabric_couchdb_rich_query_through_the_shipped_index";

/// Org1's peer on CouchDB, Org2's on LevelDB, on [`CHANNEL`].
fn couchdb_workspace() -> Workspace {
    let body = format!(
        "name: couch\nhostPortBase: 32000\n\
         orgs:\n  - {{ name: Org1, peers: 1, stateDatabase: couchdb }}\n  \
         - {{ name: Org2, peers: 1, stateDatabase: leveldb }}\n\
         channels:\n  - {{ name: {CHANNEL}, orgs: [Org1, Org2] }}\n"
    );
    workspace(&home(), &body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(couchdb),
    ignore = "no Fabric binaries or no CouchDB release: set FABRIC_HOME to a Fabric release folder and COUCHDB_HOME to a CouchDB release folder (bin/couchdb, etc/vm.args)"
)]
async fn real_fabric_couchdb_rich_query_through_the_shipped_index() {
    testkit_probe::Check::couchdb().fail_if_missing(TEST);
    let _one = one_at_a_time().await;
    let net = chaincode_network(couchdb_workspace()).await;
    let peer = "peer0-org1";

    // Issue 19, finding 9: CouchDB's HTTP port, Erlang's port mapper and
    // its distribution listen on the pod's loopback only (the copy's
    // vm.args names the node, so distribution does listen), and nothing of
    // it answers on the pod's address.
    let listeners = net.listeners(peer).expect("listeners");
    let erlang: Vec<&(String, String)> = listeners
        .iter()
        .filter(|(_, program)| program == "beam.smp" || program == "epmd")
        .collect();
    for port in [5984, 9100, 4369] {
        assert!(
            erlang
                .iter()
                .any(|(local, _)| *local == format!("127.0.0.1:{port}")),
            "nothing of CouchDB on 127.0.0.1:{port}: {listeners:?}"
        );
    }
    assert!(
        erlang
            .iter()
            .all(|(local, _)| local.starts_with("127.0.0.1:") || local.starts_with("[::1]:")),
        "CouchDB or Erlang listens beyond loopback: {listeners:?}"
    );
    let ip = net.ip(peer).expect("address");
    for port in [5984, 9100, 4369] {
        assert!(
            tokio::net::TcpStream::connect((ip, port)).await.is_err(),
            "{ip}:{port} accepts a connection from outside the pod"
        );
    }
    // The cookie is the peer's own, from its Secret, readable by its owner
    // only.
    let cookie = net
        .plan(peer)
        .expect("plan")
        .container("couchdb")
        .and_then(|c| c.env.iter().find(|(k, _)| k == "COUCHDB_ERLANG_COOKIE"))
        .map(|(_, v)| v.clone())
        .expect("COUCHDB_ERLANG_COOKIE in the rendered env");
    assert_eq!(cookie.len(), 32, "{cookie}");
    let file = net
        .root()
        .join("pods/peer0-org1-0/couchdb-release/.erlang.cookie");
    assert_eq!(
        std::fs::read_to_string(&file).expect("cookie file").trim(),
        cookie
    );
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&file)
        .expect("cookie file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "{}", file.display());

    // The fixture with its index, deployed on both orgs' peers.
    let src = fixture_copy("chaincode/node");
    deploy(&net, &spec(src.path(), "basic_1"), Some(&net)).await;
    for (id, owner) in [("asset1", "Tom"), ("asset2", "Ann"), ("asset3", "Tom")] {
        invoke(
            &net,
            "Org1",
            "basic",
            "CreateAsset",
            &[id, "blue", "5", owner, "300"],
        )
        .await;
    }

    // The rich query answers the right rows...
    let got = try_query(&net, "Org1", "basic", "QueryAssetsByOwner", &["Tom"])
        .await
        .unwrap_or_else(|e| panic!("rich query: {e}\n{}", net.logs(peer).unwrap_or_default()));
    let rows: Vec<serde_json::Value> = serde_json::from_str(&got).expect("JSON rows");
    let mut ids: Vec<&str> = rows.iter().filter_map(|r| r["ID"].as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["asset1", "asset3"], "{rows:?}");
    assert!(rows.iter().all(|r| r["owner"] == "Tom"), "{rows:?}");

    // ... and the peer made the package's index in the chaincode's
    // database, which CouchDB uses for that selector.
    let (status, body) = net
        .couchdb(peer, "GET", "/mychannel_basic/_index", None)
        .expect("GET _index");
    assert_eq!(status, 200, "{body}");
    let indexes: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert!(
        indexes["indexes"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|i| {
                i["ddoc"] == "_design/indexOwnerDoc"
                    && i["name"] == "indexOwner"
                    && i["def"]["fields"].to_string().contains("owner")
            }),
        "no indexOwner in mychannel_basic: {indexes}"
    );
    let explain = r#"{"selector":{"docType":"asset","owner":"Tom"}}"#;
    let (status, body) = net
        .couchdb(peer, "POST", "/mychannel_basic/_explain", Some(explain))
        .expect("POST _explain");
    assert_eq!(status, 200, "{body}");
    let plan: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(plan["index"]["ddoc"], "_design/indexOwnerDoc", "{plan}");
}
