//! Objects of one node deleted by label: what `up` does once an orderer
//! fabdev.yaml no longer lists has left its channels.

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Secret, Service};
use kube::api::{Api, DeleteParams, ListParams};
use kube::{Client, Resource};

use super::K8sError;

/// Deletes every StatefulSet, Service, Secret, ConfigMap and
/// PersistentVolumeClaim in `namespace` that `selector` selects (the
/// StatefulSets first, so their pods go before what they mount); returns
/// `Kind name` of each one deleted. Nothing selected is nothing to do, so a
/// second run deletes nothing.
pub async fn delete_labelled(
    client: &Client,
    namespace: &str,
    selector: &str,
) -> Result<Vec<String>, K8sError> {
    let mut deleted = Vec::new();
    deleted.extend(delete_kind::<StatefulSet>(client, namespace, selector).await?);
    deleted.extend(delete_kind::<Service>(client, namespace, selector).await?);
    deleted.extend(delete_kind::<Secret>(client, namespace, selector).await?);
    deleted.extend(delete_kind::<ConfigMap>(client, namespace, selector).await?);
    deleted.extend(delete_kind::<PersistentVolumeClaim>(client, namespace, selector).await?);
    Ok(deleted)
}

async fn delete_kind<K>(
    client: &Client,
    namespace: &str,
    selector: &str,
) -> Result<Vec<String>, K8sError>
where
    K: Resource<Scope = NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + 'static,
    K::DynamicType: Default,
{
    let kind = K::kind(&K::DynamicType::default()).to_string();
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    let listed = api
        .list_metadata(&ListParams::default().labels(selector))
        .await
        .map_err(|source| K8sError::Read {
            what: format!("the {kind}s with {selector} in namespace {namespace}"),
            source,
        })?;
    let mut deleted = Vec::new();
    for item in listed.items {
        let Some(name) = item.metadata.name else {
            continue;
        };
        match api.delete(&name, &DeleteParams::background()).await {
            Ok(_) => deleted.push(format!("{kind} {name}")),
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(source) => {
                return Err(K8sError::Delete {
                    kind: kind.clone(),
                    name,
                    source,
                });
            }
        }
    }
    Ok(deleted)
}
