//! The checks of an existing cluster (`provider: existing`): its context,
//! API server, RBAC for what fabdev does, and Pod Security labels.

use super::{Check, failed};

/// The kinds of object fabdev applies (everything `network::render`
/// makes), as `(kind, API group, resource, namespaced)`.
pub const APPLIED_KINDS: &[(&str, &str, &str, bool)] = &[
    ("Namespace", "", "namespaces", false),
    ("Secret", "", "secrets", true),
    ("Service", "", "services", true),
    (
        "NetworkPolicy",
        "networking.k8s.io",
        "networkpolicies",
        true,
    ),
    ("StatefulSet", "apps", "statefulsets", true),
];

/// What fabdev does with each object it applies: server-side apply (get,
/// create, patch), listing, and `down`'s delete.
pub const APPLY_VERBS: &[&str] = &["create", "patch", "get", "list", "delete"];

/// One permission fabdev needs on an existing cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    pub verb: &'static str,
    pub group: &'static str,
    pub resource: &'static str,
    pub subresource: Option<&'static str>,
    /// In fabdev's namespace; else cluster-wide (the namespace object itself).
    pub namespaced: bool,
}

impl std::fmt::Display for Permission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.verb, self.resource)?;
        if let Some(sub) = self.subresource {
            write!(f, "/{sub}")?;
        }
        if !self.group.is_empty() {
            write!(f, ".{}", self.group)?;
        }
        Ok(())
    }
}

/// Every permission fabdev needs: [`APPLY_VERBS`] on each of
/// [`APPLIED_KINDS`]; watching the namespace (`down` waits until it is
/// gone); reading and watching pods (readiness, `status`);
/// `pods/portforward` (the nodes' endpoints, the DinD daemons) and
/// `pods/exec`.
pub fn permissions_needed() -> Vec<Permission> {
    let mut out = Vec::new();
    for (_, group, resource, namespaced) in APPLIED_KINDS {
        for verb in APPLY_VERBS {
            out.push(Permission {
                verb,
                group,
                resource,
                subresource: None,
                namespaced: *namespaced,
            });
        }
    }
    // `down` watches its namespace until it is gone.
    out.push(Permission {
        verb: "watch",
        group: "",
        resource: "namespaces",
        subresource: None,
        namespaced: false,
    });
    for verb in ["get", "list", "watch"] {
        out.push(Permission {
            verb,
            group: "",
            resource: "pods",
            subresource: None,
            namespaced: true,
        });
    }
    for sub in ["portforward", "exec"] {
        out.push(Permission {
            verb: "create",
            group: "",
            resource: "pods",
            subresource: Some(sub),
            namespaced: true,
        });
    }
    out
}

/// The checks of an existing cluster: the kubeconfig's context, the API
/// server's answer and version, RBAC for what fabdev does in `namespace`
/// (SelfSubjectAccessReviews), and whether privileged pods may run there
/// (Pod Security admission). A check that cannot run because an earlier
/// one failed is left out.
pub async fn existing_cluster_checks(access: &crate::k8s::Access, namespace: &str) -> Vec<Check> {
    let mut checks = Vec::new();
    let resolved = match access.resolve() {
        Ok(r) => {
            checks.push(Check::ok(
                "context",
                format!(
                    "{} (cluster {}, user {}) in {}",
                    r.context, r.cluster, r.user, r.source
                ),
            ));
            r
        }
        Err(e) => {
            checks.push(failed("context", e.to_string(), e.hint()));
            return checks;
        }
    };
    let client = match resolved.client().await {
        Ok(c) => c,
        Err(e) => {
            checks.push(failed("api server", e.to_string(), e.hint()));
            return checks;
        }
    };
    match resolved.server_version(&client).await {
        Ok(v) => checks.push(Check::ok(
            "api server",
            format!("Kubernetes {v} at {}", resolved.server),
        )),
        Err(e) => {
            checks.push(failed("api server", e.to_string(), e.hint()));
            return checks;
        }
    }
    let mut answers = Vec::new();
    for p in permissions_needed() {
        let allowed = can_i(&client, &p, namespace).await;
        answers.push((p, allowed));
    }
    checks.push(rbac_check(namespace, &answers));
    checks.push(rolebindings_check(
        namespace,
        role_bindings(&client, namespace).await,
    ));
    checks.push(pod_security_check(
        namespace,
        crate::k8s::namespace_labels(&client, namespace)
            .await
            .map_err(|e| match e {
                crate::k8s::K8sError::Read { source, .. } => crate::k8s::kube_message(&source),
                other => other.to_string(),
            }),
    ));
    checks
}

/// Whether the user of `client` may do `p` in `namespace` (the namespace
/// object itself for cluster-wide ones), by a SelfSubjectAccessReview.
pub async fn can_i(client: &kube::Client, p: &Permission, namespace: &str) -> Result<bool, String> {
    use k8s_openapi::api::authorization::v1::{
        ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
    };
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                verb: Some(p.verb.to_string()),
                group: Some(p.group.to_string()),
                resource: Some(p.resource.to_string()),
                subresource: p.subresource.map(str::to_string),
                namespace: p.namespaced.then(|| namespace.to_string()),
                // The namespace object: fabdev's own, by name (a list has none).
                name: (!p.namespaced && p.verb != "list").then(|| namespace.to_string()),
                ..ResourceAttributes::default()
            }),
            ..SelfSubjectAccessReviewSpec::default()
        },
        ..SelfSubjectAccessReview::default()
    };
    let api: kube::Api<SelfSubjectAccessReview> = kube::Api::all(client.clone());
    api.create(&kube::api::PostParams::default(), &review)
        .await
        .map(|r| r.status.is_some_and(|s| s.allowed))
        .map_err(|e| crate::k8s::kube_message(&e))
}

/// The verdict on RBAC: every permission fabdev needs, or the denied ones
/// by name.
pub fn rbac_check(namespace: &str, answers: &[(Permission, Result<bool, String>)]) -> Check {
    let denied: Vec<String> = answers
        .iter()
        .filter(|(_, a)| matches!(a, Ok(false)))
        .map(|(p, _)| {
            if p.namespaced {
                p.to_string()
            } else {
                format!("{p} (cluster-wide)")
            }
        })
        .collect();
    let unknown: Vec<String> = answers
        .iter()
        .filter_map(|(p, a)| a.as_ref().err().map(|e| format!("{p}: {e}")))
        .collect();
    if !denied.is_empty() {
        return Check::fail(
            "rbac",
            format!("denied in namespace {namespace}: {}", denied.join(", ")),
            format!(
                "ask the cluster's admins for a Role in namespace {namespace} with these verbs, bound to your user, and for the namespace itself a ClusterRole on namespaces (get, patch and delete can be limited to resourceNames: [{namespace}], create and list cannot); `kubectl auth can-i --list -n {namespace}` shows what you may do"
            ),
        );
    }
    if !unknown.is_empty() {
        return Check::warn(
            "rbac",
            format!("cannot ask the API server: {}", unknown.join("; ")),
            "SelfSubjectAccessReview is allowed to every authenticated user by default; ask the cluster's admins",
        );
    }
    Check::ok(
        "rbac",
        format!(
            "all {} permissions fabdev needs in namespace {namespace} (apply, list and delete its objects, pods/portforward, pods/exec)",
            answers.len()
        ),
    )
}

/// One RoleBinding in fabdev's namespace: its name, its subjects
/// (`Kind/name`), and whether fabdev made it (its managed-by label).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleBindingSeen {
    pub name: String,
    pub subjects: Vec<String>,
    pub fabdevs: bool,
}

/// The RoleBindings in `namespace` (none when there is no such namespace).
pub async fn role_bindings(
    client: &kube::Client,
    namespace: &str,
) -> Result<Vec<RoleBindingSeen>, String> {
    use k8s_openapi::api::rbac::v1::RoleBinding;
    let api: kube::Api<RoleBinding> = kube::Api::namespaced(client.clone(), namespace);
    let list = api
        .list(&kube::api::ListParams::default())
        .await
        .map_err(|e| crate::k8s::kube_message(&e))?;
    Ok(list
        .items
        .into_iter()
        .map(|rb| RoleBindingSeen {
            fabdevs: rb
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("app.kubernetes.io/managed-by"))
                .is_some_and(|v| v == "fabdev"),
            name: rb.metadata.name.unwrap_or_default(),
            subjects: rb
                .subjects
                .unwrap_or_default()
                .into_iter()
                .map(|s| format!("{}/{}", s.kind, s.name))
                .collect(),
        })
        .collect())
}

/// The verdict on RoleBindings fabdev did not make in its namespace: who
/// they let in can read the network's private keys and exec into its
/// privileged pods.
pub fn rolebindings_check(namespace: &str, seen: Result<Vec<RoleBindingSeen>, String>) -> Check {
    const NAME: &str = "rolebindings";
    match seen {
        Err(e) => Check::warn(
            NAME,
            format!("cannot list RoleBindings in namespace {namespace}: {e}"),
            format!(
                "whoever a RoleBinding in namespace {namespace} lets in can read the network's keys: `kubectl get rolebindings -n {namespace}`"
            ),
        ),
        Ok(seen) => {
            let others: Vec<String> = seen
                .iter()
                .filter(|rb| !rb.fabdevs)
                .map(|rb| format!("{} ({})", rb.name, rb.subjects.join(", ")))
                .collect();
            if others.is_empty() {
                Check::ok(
                    NAME,
                    format!("no RoleBinding in namespace {namespace} that fabdev did not make"),
                )
            } else {
                Check::warn(
                    NAME,
                    format!(
                        "RoleBindings in namespace {namespace} that fabdev did not make: {}",
                        others.join("; ")
                    ),
                    format!(
                        "they can read the network's private keys (Secrets) and exec into its privileged pods: make sure you trust them (`kubectl describe rolebindings -n {namespace}`), or give the workspace another `name:`"
                    ),
                )
            }
        }
    }
}

/// The Pod Security admission label fabdev sets on its namespace: the
/// peers' DinD sidecars are privileged containers.
pub const POD_SECURITY_ENFORCE: &str = "pod-security.kubernetes.io/enforce";

/// The verdict on privileged pods in fabdev's namespace, from its labels
/// (`Ok(None)`: no such namespace yet).
pub fn pod_security_check(
    namespace: &str,
    labels: Result<Option<std::collections::BTreeMap<String, String>>, String>,
) -> Check {
    const NAME: &str = "pod security";
    let fabdev_sets = format!("fabdev labels it {POD_SECURITY_ENFORCE}=privileged");
    match labels {
        Err(e) => Check::warn(
            NAME,
            format!("cannot read namespace {namespace}: {e}"),
            "the peers' DinD sidecars are privileged: make sure the namespace allows privileged pods",
        ),
        Ok(None) => Check::ok(
            NAME,
            format!("namespace {namespace} does not exist yet; {fabdev_sets} when it creates it"),
        ),
        Ok(Some(l)) => match l.get(POD_SECURITY_ENFORCE).map(String::as_str) {
            Some("privileged") => Check::ok(
                NAME,
                format!("namespace {namespace}: {POD_SECURITY_ENFORCE}=privileged"),
            ),
            None => Check::ok(
                NAME,
                format!(
                    "namespace {namespace} has no {POD_SECURITY_ENFORCE} label (the cluster's default applies until {fabdev_sets} on `up`)"
                ),
            ),
            Some(level) => Check::warn(
                NAME,
                format!(
                    "namespace {namespace}: {POD_SECURITY_ENFORCE}={level}, which refuses the peers' privileged DinD sidecars"
                ),
                format!(
                    "`fabdev up` sets it to privileged (a forced server-side apply); if the cluster's admins or a policy keep it at {level}, ask them to allow privileged pods in namespace {namespace}"
                ),
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Verdict;

    #[test]
    fn rbac_names_each_denied_permission() {
        let needed = permissions_needed();
        // Every verb on every applied kind, pods read and watched, port-forward and exec.
        // Every verb on every applied kind, the namespace watched (down).
        assert_eq!(needed.len(), APPLIED_KINDS.len() * APPLY_VERBS.len() + 6);
        assert!(
            needed
                .iter()
                .any(|p| p.to_string() == "watch namespaces" && !p.namespaced),
            "{needed:?}"
        );
        let all_ok: Vec<_> = needed.iter().map(|p| (p.clone(), Ok(true))).collect();
        assert_eq!(rbac_check("fab", &all_ok).verdict, Verdict::Ok);
        let answers: Vec<_> = needed
            .iter()
            .map(|p| {
                let denied = p.subresource == Some("exec")
                    || (p.resource == "statefulsets" && p.verb == "delete")
                    || (p.resource == "namespaces" && p.verb == "create");
                (p.clone(), Ok(!denied))
            })
            .collect();
        let c = rbac_check("fab", &answers);
        assert_eq!(c.verdict, Verdict::Fail);
        assert_eq!(
            c.detail,
            "denied in namespace fab: create namespaces (cluster-wide), delete statefulsets.apps, create pods/exec"
        );
        let mut unknown = all_ok.clone();
        unknown[0].1 = Err("forbidden".into());
        assert_eq!(rbac_check("fab", &unknown).verdict, Verdict::Warn);
    }

    #[test]
    fn pod_security_reads_the_enforce_label() {
        use std::collections::BTreeMap;
        let with = |level: &str| {
            Ok(Some(BTreeMap::from([(
                POD_SECURITY_ENFORCE.to_string(),
                level.to_string(),
            )])))
        };
        assert_eq!(
            pod_security_check("fab", with("privileged")).verdict,
            Verdict::Ok
        );
        let c = pod_security_check("fab", with("restricted"));
        assert_eq!(c.verdict, Verdict::Warn);
        assert!(c.detail.contains("=restricted"), "{c:?}");
        let c = pod_security_check("fab", Ok(None));
        assert_eq!(c.verdict, Verdict::Ok);
        assert!(c.detail.contains("does not exist yet"), "{c:?}");
        assert_eq!(
            pod_security_check("fab", Ok(Some(BTreeMap::new()))).verdict,
            Verdict::Ok
        );
        assert_eq!(
            pod_security_check("fab", Err("forbidden".into())).verdict,
            Verdict::Warn
        );
    }
}

#[cfg(test)]
mod rolebinding_tests {
    use super::*;
    use crate::doctor::Verdict;

    #[test]
    fn rolebindings_fabdev_did_not_make_are_named() {
        let rb = |name: &str, fabdevs| RoleBindingSeen {
            name: name.into(),
            subjects: vec!["User/mallory".into()],
            fabdevs,
        };
        assert_eq!(rolebindings_check("fab", Ok(vec![])).verdict, Verdict::Ok);
        assert_eq!(
            rolebindings_check("fab", Ok(vec![rb("ours", true)])).verdict,
            Verdict::Ok
        );
        let c = rolebindings_check("fab", Ok(vec![rb("ours", true), rb("grab", false)]));
        assert_eq!(c.verdict, Verdict::Warn);
        assert!(c.detail.contains("grab (User/mallory)"), "{c:?}");
        assert!(!c.detail.contains("ours"), "{c:?}");
        assert_eq!(
            rolebindings_check("fab", Err("forbidden".into())).verdict,
            Verdict::Warn
        );
    }
}
