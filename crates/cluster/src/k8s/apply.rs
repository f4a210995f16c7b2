//! Server-side apply of rendered objects ([`Manifest`] in, [`Applied`] out).

use super::*;

/// One rendered object to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Where it came from (a file name), for messages.
    pub file: String,
    pub yaml: String,
}

/// The result of applying one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub kind: String,
    pub name: String,
    /// Whether the apply created or changed the object: its content before
    /// and after, status aside (see [`apply`]).
    pub changed: bool,
}

pub(super) fn parse_manifest(m: &Manifest) -> Result<(DynamicObject, ApiResource), K8sError> {
    let bad = |message: String| K8sError::BadManifest {
        file: m.file.clone(),
        message,
    };
    let obj: DynamicObject = serde_saphyr::from_str(&m.yaml).map_err(|e| bad(e.to_string()))?;
    let types = obj
        .types
        .as_ref()
        .ok_or_else(|| bad("no apiVersion/kind".into()))?;
    let (group, version) = match types.api_version.split_once('/') {
        Some((g, v)) => (g.to_string(), v.to_string()),
        None => (String::new(), types.api_version.clone()),
    };
    let gvk = GroupVersionKind::gvk(&group, &version, &types.kind);
    Ok((obj, ApiResource::from_gvk(&gvk)))
}

/// What an apply by fabdev can change in an object: everything but its
/// status, its resourceVersion and the managedFields entries of status
/// writers.
///
/// Controllers write status all the time (the StatefulSet controller right
/// after an object is created, again whenever its pods change), and every
/// write bumps the resourceVersion. Comparing resourceVersions before and
/// after the apply therefore said "changed" whenever such a write landed
/// between the GET and the PATCH, as it did against a real API server with
/// the StatefulSet controller running (crates/cluster/tests/apiserver.rs).
pub(super) fn applied_content(obj: DynamicObject) -> (ObjectMeta, serde_json::Value) {
    let DynamicObject {
        mut metadata,
        mut data,
        ..
    } = obj;
    metadata.resource_version = None;
    if let Some(fields) = metadata.managed_fields.as_mut() {
        fields.retain(|f| f.subresource.as_deref().unwrap_or_default().is_empty());
    }
    if let Some(map) = data.as_object_mut() {
        map.remove("status");
    }
    (metadata, data)
}

/// Server-side apply every object in order (field manager `fabdev`, forced,
/// so fabdev's fields win over earlier hand edits). Applying the same objects
/// again changes nothing and reports `changed: false`; a status written
/// meanwhile by a controller does not count as a change.
pub async fn apply(client: &Client, manifests: &[Manifest]) -> Result<Vec<Applied>, K8sError> {
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let mut out = Vec::with_capacity(manifests.len());
    for m in manifests {
        let (obj, ar) = parse_manifest(m)?;
        let name = obj
            .metadata
            .name
            .clone()
            .ok_or_else(|| K8sError::BadManifest {
                file: m.file.clone(),
                message: "no metadata.name".into(),
            })?;
        let api: Api<DynamicObject> = match &obj.metadata.namespace {
            Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
            None => Api::all_with(client.clone(), &ar),
        };
        let before = api.get_opt(&name).await.map_err(|source| K8sError::Apply {
            kind: ar.kind.clone(),
            name: name.clone(),
            source,
        })?;
        let after = api
            .patch(&name, &params, &Patch::Apply(&obj))
            .await
            .map_err(|source| K8sError::Apply {
                kind: ar.kind.clone(),
                name: name.clone(),
                source,
            })?;
        // Same resourceVersion: nothing was written at all. Otherwise compare
        // what fabdev's apply can change (a controller may have written the
        // status in between).
        let changed = match before {
            None => true,
            Some(b) if b.metadata.resource_version == after.metadata.resource_version => false,
            Some(b) => applied_content(b) != applied_content(after),
        };
        out.push(Applied {
            kind: ar.kind.clone(),
            name,
            changed,
        });
    }
    Ok(out)
}
