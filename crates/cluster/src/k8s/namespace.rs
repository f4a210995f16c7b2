//! A namespace's labels, and its deletion (waited for).

use super::*;

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

/// Delete a namespace and wait until it is gone (its objects with it).
/// Returns false when there was no such namespace.
pub async fn delete_namespace(
    client: &Client,
    name: &str,
    timeout: Duration,
) -> Result<bool, K8sError> {
    use k8s_openapi::api::core::v1::Namespace;
    use kube::api::DeleteParams;
    use kube::runtime::wait::{await_condition, conditions};

    let api: Api<Namespace> = Api::all(client.clone());
    let uid = match api.get_opt(name).await {
        Ok(Some(ns)) => ns.metadata.uid.unwrap_or_default(),
        Ok(None) => return Ok(false),
        Err(source) => {
            return Err(K8sError::Read {
                what: format!("namespace {name}"),
                source,
            });
        }
    };
    match api.delete(name, &DeleteParams::foreground()).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 404 => return Ok(true),
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
        await_condition(api, name, conditions::is_deleted(&uid)),
    )
    .await
    {
        Ok(Ok(_)) => Ok(true),
        Ok(Err(e)) => Err(K8sError::Timeout {
            what,
            timeout,
            last: e.to_string(),
            diagnostics: None,
        }),
        Err(_) => Err(K8sError::Timeout {
            what,
            timeout,
            last: "still terminating".into(),
            diagnostics: None,
        }),
    }
}
