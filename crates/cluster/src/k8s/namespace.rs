//! A namespace's labels, whose it is (fabdev's workspace ID), and its
//! deletion (waited for, with a UID precondition).

use super::*;

/// The label and annotation that say which workspace a namespace is: the
/// random ID kept in the workspace's `.fabdev/workspace-id`. A namespace
/// named like the workspace is fabdev's only when it carries this ID.
pub const WORKSPACE_ID: &str = "fabdev.dev/workspace-id";

/// What fabdev reads of a namespace to decide whose it is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NamespaceMeta {
    pub uid: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

/// Whose a namespace is, from the workspace's point of view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ownership {
    /// No namespace of that name.
    Absent,
    /// It carries this workspace's ID (label and annotation); its UID.
    Ours { uid: String },
    /// It exists and carries another workspace's ID, or none (`None`); its
    /// UID.
    Foreign { id: Option<String>, uid: String },
}

/// Whose namespace `meta` is for the workspace of ID `id` (`None`: the
/// workspace has no ID yet, so no namespace is its own). Pure.
pub fn ownership(meta: Option<&NamespaceMeta>, id: Option<&str>) -> Ownership {
    let Some(meta) = meta else {
        return Ownership::Absent;
    };
    let label = meta.labels.get(WORKSPACE_ID).map(String::as_str);
    let annotation = meta.annotations.get(WORKSPACE_ID).map(String::as_str);
    match (id, label) {
        (Some(id), Some(l)) if l == id && annotation == Some(id) => Ownership::Ours {
            uid: meta.uid.clone(),
        },
        _ => Ownership::Foreign {
            id: label.or(annotation).map(str::to_string),
            uid: meta.uid.clone(),
        },
    }
}

/// A namespace's UID, labels and annotations, or `None` when there is no
/// such namespace.
pub async fn namespace_meta(
    client: &Client,
    name: &str,
) -> Result<Option<NamespaceMeta>, K8sError> {
    use k8s_openapi::api::core::v1::Namespace;
    let api: Api<Namespace> = Api::all(client.clone());
    match api.get_opt(name).await {
        Ok(ns) => Ok(ns.map(|ns| NamespaceMeta {
            uid: ns.metadata.uid.unwrap_or_default(),
            labels: ns.metadata.labels.unwrap_or_default(),
            annotations: ns.metadata.annotations.unwrap_or_default(),
        })),
        Err(source) => Err(K8sError::Read {
            what: format!("namespace {name}"),
            source,
        }),
    }
}

/// A namespace's labels, or `None` when there is no such namespace.
pub async fn namespace_labels(
    client: &Client,
    name: &str,
) -> Result<Option<BTreeMap<String, String>>, K8sError> {
    use k8s_openapi::api::core::v1::Namespace;
    let api: Api<Namespace> = Api::all(client.clone());
    match api.get_opt(name).await {
        Ok(ns) => Ok(ns.map(|ns| ns.metadata.labels.unwrap_or_default())),
        Err(source) => Err(K8sError::Read {
            what: format!("namespace {name}"),
            source,
        }),
    }
}

/// A namespace's UID, or `None` when there is no such namespace (the
/// kube-system namespace's names a cluster: it is made once, when the
/// cluster is).
pub async fn namespace_uid(client: &Client, name: &str) -> Result<Option<String>, K8sError> {
    use k8s_openapi::api::core::v1::Namespace;
    let api: Api<Namespace> = Api::all(client.clone());
    match api.get_opt(name).await {
        Ok(ns) => Ok(ns.and_then(|ns| ns.metadata.uid)),
        Err(source) => Err(K8sError::Read {
            what: format!("namespace {name}"),
            source,
        }),
    }
}

/// Delete the namespace of UID `uid` and wait until it is gone (its
/// objects with it). The delete carries a UID precondition, so a namespace
/// of the same name made since `uid` was read is refused by the API server,
/// not deleted. Returns false when there was no such namespace.
pub async fn delete_namespace(
    client: &Client,
    name: &str,
    uid: &str,
    timeout: Duration,
) -> Result<bool, K8sError> {
    use k8s_openapi::api::core::v1::Namespace;
    use kube::api::{DeleteParams, Preconditions};
    use kube::runtime::wait::{await_condition, conditions};

    let api: Api<Namespace> = Api::all(client.clone());
    let params = DeleteParams {
        preconditions: Some(Preconditions {
            uid: Some(uid.to_string()),
            resource_version: None,
        }),
        ..DeleteParams::foreground()
    };
    match api.delete(name, &params).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 404 => return Ok(false),
        Err(kube::Error::Api(s)) if s.code == 409 => {
            return Err(K8sError::Changed {
                what: format!("namespace {name}"),
                uid: uid.to_string(),
                source: kube::Error::Api(s),
            });
        }
        Err(source) => {
            return Err(K8sError::Apply {
                kind: "Namespace".into(),
                name: name.into(),
                source,
            });
        }
    }
    let what = format!("namespace {name} to be deleted");
    match tokio::time::timeout(
        timeout,
        await_condition(api, name, conditions::is_deleted(uid)),
    )
    .await
    {
        Ok(Ok(_)) => Ok(true),
        // A refused watch (403: no `watch namespaces`) is that, not a timeout.
        Ok(Err(kube::runtime::wait::Error::ProbeFailed(source))) => Err(K8sError::Watch {
            what: format!("namespace {name} while it is deleted"),
            source,
        }),
        Err(_) => Err(K8sError::Timeout {
            what,
            timeout,
            last: "still terminating".into(),
            diagnostics: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(label: Option<&str>, annotation: Option<&str>) -> NamespaceMeta {
        let one = |v: Option<&str>| {
            v.map(|v| BTreeMap::from([(WORKSPACE_ID.to_string(), v.to_string())]))
                .unwrap_or_default()
        };
        NamespaceMeta {
            uid: "u1".into(),
            labels: one(label),
            annotations: one(annotation),
        }
    }

    #[test]
    fn a_namespace_is_the_workspaces_only_with_its_id() {
        let ours = Ownership::Ours { uid: "u1".into() };
        assert_eq!(ownership(None, Some("a")), Ownership::Absent);
        assert_eq!(
            ownership(Some(&meta(Some("a"), Some("a"))), Some("a")),
            ours
        );
        // Another workspace's, whatever its name.
        assert_eq!(
            ownership(Some(&meta(Some("b"), Some("b"))), Some("a")),
            Ownership::Foreign {
                id: Some("b".into()),
                uid: "u1".into()
            }
        );
        // No ID at all (made by hand, or labelled with the workspace name only).
        let none = Ownership::Foreign {
            id: None,
            uid: "u1".into(),
        };
        assert_eq!(ownership(Some(&meta(None, None)), Some("a")), none);
        // A workspace without an ID yet owns nothing.
        assert!(matches!(
            ownership(Some(&meta(Some("a"), Some("a"))), None),
            Ownership::Foreign { .. }
        ));
        // The label alone (an annotation missing or different) is not enough.
        assert!(matches!(
            ownership(Some(&meta(Some("a"), None)), Some("a")),
            Ownership::Foreign { .. }
        ));
    }
}
