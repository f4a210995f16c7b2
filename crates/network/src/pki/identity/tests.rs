use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

use super::super::{CaKind, CryptoDir, check};
use super::store::load;
use super::*;
use crate::topology::Topology;

fn ws() -> Workspace {
    Workspace::default_network()
}

fn req(attrs: &[&str]) -> NewIdentity {
    let attrs: Vec<String> = attrs.iter().map(|s| s.to_string()).collect();
    NewIdentity::new(&ws(), "org1", "alice", Role::Client, &attrs).expect("valid")
}

#[test]
fn a_request_names_the_org_as_the_workspace_does() {
    let r = req(&["role=auditor", "level=3"]);
    assert_eq!(r.org, "Org1");
    assert_eq!(r.enrollment_id(), "alice@org1");
    assert_eq!(r.attrs.get("level").map(String::as_str), Some("3"));
}

#[test]
fn bad_input_says_what_to_fix() {
    let w = ws();
    let err = NewIdentity::new(&w, "Org9", "alice", Role::Client, &[]).unwrap_err();
    assert!(err.is_bad_input());
    let text = err.to_string();
    assert!(
        text.contains("Org9") && text.contains("Org1, Org2"),
        "{text}"
    );
    // The orderer org has no client identities.
    assert!(NewIdentity::new(&w, "OrdererOrg", "a", Role::Client, &[]).is_err());

    for (name, says) in [
        ("", "is empty"),
        ("-x", "does not start"),
        ("a/b", "'/'"),
        ("../x", "does not start"),
        ("a b", "' '"),
    ] {
        let err = NewIdentity::new(&w, "Org1", name, Role::Client, &[]).unwrap_err();
        assert!(err.to_string().contains(says), "{name:?}: {err}");
    }
    let long = "a".repeat(MAX_NAME + 1);
    assert!(NewIdentity::new(&w, "Org1", &long, Role::Client, &[]).is_err());

    for (attr, says) in [
        ("role", "is not key=value"),
        ("=x", "no name"),
        ("ro le=x", "' '"),
        ("hf.Type=admin", "hf. prefix"),
        ("role=", "no value"),
    ] {
        let err = parse_attribute(attr).unwrap_err();
        assert!(err.is_bad_input());
        assert!(err.to_string().contains(says), "{attr:?}: {err}");
        assert!(err.to_string().contains(attr), "{attr:?}: {err}");
    }
    let err = parse_attributes(&["a=1".into(), "a=2".into()]).unwrap_err();
    assert!(err.to_string().contains("repeats a"), "{err}");
    // A value may hold '=' and spaces.
    assert_eq!(
        parse_attribute("q=a=b c").expect("ok"),
        ("q".into(), "a=b c".into())
    );
}

#[test]
fn the_extension_is_fabric_cas_json() {
    let r = req(&["role=auditor"]);
    assert_eq!(
        String::from_utf8(attribute_json(&r)).expect("utf8"),
        r#"{"attrs":{"hf.Affiliation":"","hf.EnrollmentID":"alice@org1","hf.Type":"client","role":"auditor"}}"#
    );
}

#[test]
fn issued_certificates_carry_the_ou_and_attributes_and_chain_to_the_ca() {
    let w = ws();
    let topo = Topology::of(&w);
    let tmp = tempfile::tempdir().expect("tempdir");
    let crypto = CryptoDir::new(tmp.path().join("crypto"));
    super::super::ensure(&w, &topo, &crypto).expect("crypto");

    let mut r = req(&["role=auditor"]);
    r.role = Role::Admin;
    let id = add(&crypto, &r).expect("add");
    assert_eq!(id.enrollment_id, "alice@org1");
    assert_eq!(id.role, "admin");
    assert!(!id.built_in);
    assert_eq!(id.attrs.get("role").map(String::as_str), Some("auditor"));
    assert_eq!(
        id.cert,
        crypto
            .user_dir("Org1", "alice")
            .join("msp/signcerts/cert.pem")
    );

    // The certificate: issued by Org1's CA, the extension not critical.
    let pem = std::fs::read(&id.cert).expect("cert");
    let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).expect("pem");
    let (_, cert) = X509Certificate::from_der(&pem.contents).expect("der");
    let ca = load(&crypto, "Org1", CaKind::Signing).expect("ca");
    assert_eq!(check::not_issued_by(&cert, &ca), None);
    let ext = cert
        .extensions()
        .iter()
        .find(|e| e.oid.to_id_string() == ATTRIBUTE_OID_STR)
        .expect("attribute extension");
    assert!(!ext.critical);
    assert!(!cert.is_ca());

    // The folder has the shape of a built-in user's, and `ensure`'s
    // checks accept it as one.
    let tlsca = load(&crypto, "Org1", CaKind::Tls).expect("tlsca");
    let spec = spec_of(&r, &crypto.user_dir("Org1", "alice"));
    check::identity(
        &spec,
        &ca,
        &tlsca,
        Validity::from_now(OffsetDateTime::now_utc()),
    )
    .expect("a sound user folder");
    // A second `ensure` leaves it alone.
    super::super::ensure(&w, &topo, &crypto).expect("crypto again");

    // Taken, in any case; nothing written.
    let mut again = req(&[]);
    again.name = "Alice".into();
    let err = add(&crypto, &again).unwrap_err();
    assert!(matches!(err, IdentityError::Taken { .. }), "{err}");
    assert!(
        err.hint()
            .is_some_and(|h| h.contains("identity remove Org1 alice")),
        "{err:?}"
    );
    assert!(!crypto.user_dir("Org1", "Alice").exists());
    let mut builtin = req(&[]);
    builtin.name = "user1".into();
    assert!(matches!(
        add(&crypto, &builtin),
        Err(IdentityError::Taken { .. })
    ));

    // Listed with the built-in users, attributes read back.
    let all = list(&w, &crypto).expect("list");
    let names: Vec<(&str, &str, bool)> = all
        .iter()
        .map(|i| (i.org.as_str(), i.name.as_str(), i.built_in))
        .collect();
    assert_eq!(
        names,
        [
            ("Org1", "Admin", true),
            ("Org1", "User1", true),
            ("Org1", "alice", false),
            ("Org2", "Admin", true),
            ("Org2", "User1", true),
        ]
    );
    assert_eq!(all[1].role, "client");
    assert!(all[1].attrs.is_empty());

    // Removed: gone, no leftovers; built-ins and unknown names refused.
    let err = remove(&w, &crypto, "Org1", "User1").unwrap_err();
    assert!(matches!(err, IdentityError::BuiltIn { .. }), "{err}");
    let err = remove(&w, &crypto, "Org1", "bob").unwrap_err();
    assert!(err.to_string().contains("Admin, User1, alice"), "{err}");
    remove(&w, &crypto, "org1", "alice").expect("remove");
    let left: Vec<_> = std::fs::read_dir(crypto.org_dir("Org1").join("users"))
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    let mut left = left;
    left.sort();
    assert_eq!(left, ["Admin", "User1"]);
    // The name is free again.
    add(&crypto, &req(&[])).expect("add again");
}

#[test]
fn a_foreign_attribute_extension_is_reported() {
    let w = ws();
    let topo = Topology::of(&w);
    let tmp = tempfile::tempdir().expect("tempdir");
    let crypto = CryptoDir::new(tmp.path().join("crypto"));
    super::super::ensure(&w, &topo, &crypto).expect("crypto");
    let ca = load(&crypto, "Org1", CaKind::Signing).expect("ca");
    let key = generate::new_key().expect("key");
    let mut p = generate::leaf_params(
        Validity::from_now(OffsetDateTime::now_utc()),
        &key,
        generate::dn("Org1", Some("client"), "x@org1"),
    );
    p.custom_extensions = vec![CustomExtension::from_oid_content(
        ATTRIBUTE_OID,
        b"not json".to_vec(),
    )];
    let cert = p.signed_by(&key, &ca.issuer).expect("cert");
    let err = read_cert(cert.pem().as_bytes()).unwrap_err();
    assert!(matches!(err, CertError::Attributes(_)), "{err:?}");
    assert!(err.to_string().contains("attribute extension"), "{err}");
}
