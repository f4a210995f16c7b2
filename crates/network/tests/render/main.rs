//! Rendered Kubernetes objects and kind config: snapshots of the whole output
//! for the default and a three-org workspace, plus the properties the design
//! relies on (one privileged container, DinD on loopback only, NodePorts
//! mapped by kind, Secret items that exist, DNS-1123 names, determinism).
//!
//! Crypto is a fake NodeFiles map with short placeholder contents (real
//! crypto is random, so it would make snapshots useless); rendering only
//! moves bytes, it never parses them.
//!
//! Set FABDEV_RENDER_OUT=DIR to also write both workspaces' output to
//! DIR/default and DIR/three-orgs (for `scripts/check/validate-manifests.sh`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use cluster::kind_config::KindConfig;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Container, Namespace, PodSpec, Secret, Service};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use network::render::{self, NodeFiles, REQUIRED_FILES, RenderError, Rendered};
use network::spec::check_dns_label;
use network::{NodeKind, Topology, Workspace};

mod names;
mod objects;
mod output;
mod pods;
mod policy;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn default_ws() -> Workspace {
    Workspace::default_network()
}

/// Three peer orgs with two CouchDB peers each and three Raft orderers.
fn three_orgs_ws() -> Workspace {
    let path = repo().join("fixtures/specs/three-orgs.yaml");
    let ws = Workspace::load_file(&path).expect("fixtures/specs/three-orgs.yaml parses");
    assert_eq!(ws.orderer.count, 3);
    assert_eq!(ws.orgs.len(), 3);
    for org in &ws.orgs {
        assert_eq!(org.peers, 2);
        assert_eq!(org.state_database, network::spec::StateDatabase::Couchdb);
    }
    ws
}

/// Every node's folder with short placeholder contents.
fn fake_files(topo: &Topology) -> NodeFiles {
    topo.nodes
        .iter()
        .map(|n| {
            let files = REQUIRED_FILES
                .iter()
                .map(|p| (p.to_string(), format!("{} {p}\n", n.name).into_bytes()))
                .collect();
            (n.name.clone(), files)
        })
        .collect()
}

fn render_ws(ws: &Workspace) -> Rendered {
    let topo = Topology::of(ws);
    render::render(ws, &topo, &fake_files(&topo)).expect("renders")
}

/// The whole output as one text: kind config, then every file.
fn whole(r: &Rendered) -> String {
    let mut s = format!("# kind-config.yaml\n{}", r.kind_config);
    for o in &r.objects {
        s.push_str(&format!("---\n# manifests/{}\n{}", o.file_name, o.yaml));
    }
    s
}

#[test]
fn snapshot_default() {
    insta::assert_snapshot!("default", whole(&render_ws(&default_ws())));
}

#[test]
fn snapshot_three_orgs() {
    insta::assert_snapshot!("three_orgs", whole(&render_ws(&three_orgs_ws())));
}

/// Every object parsed back into its k8s-openapi type.
#[derive(Default)]
struct Parsed {
    namespaces: Vec<Namespace>,
    secrets: Vec<Secret>,
    services: Vec<Service>,
    statefulsets: Vec<StatefulSet>,
    network_policies: Vec<NetworkPolicy>,
}

/// Parse every object back, check it re-serialises to the same bytes, and
/// that `apiVersion`/`kind` are in the YAML.
fn parse_back(r: &Rendered) -> Parsed {
    fn back<T>(yaml: &str) -> T
    where
        T: serde::de::DeserializeOwned + serde::Serialize + k8s_openapi::Resource,
    {
        assert!(
            yaml.starts_with(&format!(
                "apiVersion: {}\nkind: {}\n",
                T::API_VERSION,
                T::KIND
            )),
            "{yaml}"
        );
        let v: T = serde_saphyr::from_str(yaml).expect("parses back");
        assert_eq!(
            serde_saphyr::to_string(&v).expect("serialises"),
            yaml,
            "round trip"
        );
        v
    }
    let mut p = Parsed::default();
    for o in &r.objects {
        match o.kind.as_str() {
            "Namespace" => p.namespaces.push(back(&o.yaml)),
            "Secret" => p.secrets.push(back(&o.yaml)),
            "Service" => p.services.push(back(&o.yaml)),
            "StatefulSet" => p.statefulsets.push(back(&o.yaml)),
            "NetworkPolicy" => p.network_policies.push(back(&o.yaml)),
            other => panic!("unexpected kind {other}"),
        }
    }
    p
}

fn pod(sts: &StatefulSet) -> &PodSpec {
    sts.spec
        .as_ref()
        .expect("spec")
        .template
        .spec
        .as_ref()
        .expect("pod spec")
}

fn all_containers(p: &PodSpec) -> impl Iterator<Item = &Container> {
    p.init_containers
        .iter()
        .flatten()
        .chain(p.containers.iter())
}

fn env_of<'a>(c: &'a Container, name: &str) -> Option<&'a str> {
    c.env
        .iter()
        .flatten()
        .find(|e| e.name == name)
        .and_then(|e| e.value.as_deref())
}

fn name_of<
    T: k8s_openapi::Metadata<Ty = k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>,
>(
    o: &T,
) -> &str {
    o.metadata().name.as_deref().expect("name")
}

fn both() -> Vec<(Workspace, Rendered)> {
    [default_ws(), three_orgs_ws()]
        .into_iter()
        .map(|ws| {
            let r = render_ws(&ws);
            (ws, r)
        })
        .collect()
}
