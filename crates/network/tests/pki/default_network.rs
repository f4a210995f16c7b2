//! The default network's crypto material, as cryptogen would make it.

use super::*;

#[test]
fn default_network_has_every_property() {
    let ws = Workspace::default_network();
    let topo = Topology::of(&ws);
    let (_tmp, dir, report) = setup(&ws);
    assert_eq!(report.created, default_labels());
    assert!(report.reused.is_empty());

    let orgs = ["OrdererOrg", "Org1", "Org2"];
    for org in orgs {
        let org_dir = dir.org_dir(org);
        assert_eq!(org_dir, dir.root().join(org.to_lowercase()));

        // CA and TLS CA.
        let ca = Cert::read(&org_dir.join("ca/ca.crt"));
        let tlsca = Cert::read(&org_dir.join("tlsca/tlsca.crt"));
        for (cert, key_file) in [(&ca, "ca/ca.key"), (&tlsca, "tlsca/tlsca.key")] {
            cert.assert_common();
            let x = cert.x509();
            assert_eq!(x.issuer().as_raw(), x.subject().as_raw(), "self-signed");
            x.verify_signature(None).expect("self-signature");
            assert_eq!(cert.is_ca(), Some(true));
            let ku = cert.key_usage_flags();
            assert_ne!(ku & (1 << 5), 0, "keyCertSign");
            assert_ne!(ku & (1 << 6), 0, "cRLSign");
            assert_eq!(ku & !(1 | (1 << 5) | (1 << 6)), 0, "nothing else");
            let point = cert.public_point();
            assert_eq!(point.len(), 65);
            assert_eq!(point[0], 0x04, "uncompressed");
            assert_eq!(
                cert.ski(),
                Some(Sha256::digest(&point).to_vec()),
                "SKI = SHA-256 of the point"
            );
            assert_eq!(cert.orgs(), [org]);
            let key = read_key(&org_dir.join(key_file));
            assert_eq!(key.public_key_raw(), point.as_slice());
        }
        assert_ne!(ca.public_point(), tlsca.public_point(), "two different CAs");

        // Org msp.
        assert_eq!(
            std::fs::read(org_dir.join("msp/cacerts/ca.crt")).expect("cacerts"),
            std::fs::read(&ca.path).expect("ca")
        );
        assert_eq!(
            std::fs::read(org_dir.join("msp/tlscacerts/tlsca.crt")).expect("tlscacerts"),
            std::fs::read(&tlsca.path).expect("tlsca")
        );
        assert_node_ous_config(&org_dir.join("msp/config.yaml"));

        // Nodes and users.
        let mut identities: Vec<(PathBuf, String, &str, Option<Vec<String>>)> = topo
            .nodes
            .iter()
            .filter(|n| n.org == org)
            .map(|n| {
                let ou = match n.kind {
                    NodeKind::Orderer => "orderer",
                    NodeKind::Peer => "peer",
                };
                let mut sans = n.tls_dns_names(&topo.namespace);
                sans.extend(n.tls_ips().iter().map(IpAddr::to_string));
                (dir.node_dir(n), n.name.clone(), ou, Some(sans))
            })
            .collect();
        assert_eq!(identities.len(), 1);
        let lower = org.to_lowercase();
        identities.push((
            dir.user_dir(org, "Admin"),
            format!("Admin@{lower}"),
            "admin",
            None,
        ));
        if org != "OrdererOrg" {
            identities.push((
                dir.user_dir(org, "User1"),
                format!("User1@{lower}"),
                "client",
                None,
            ));
        } else {
            assert!(
                !dir.user_dir(org, "User1").exists(),
                "orderer org has no User1"
            );
        }
        for (id_dir, cn, ou, node_sans) in identities {
            let msp = id_dir.join("msp");
            assert_eq!(
                std::fs::read(msp.join("cacerts/ca.crt")).expect("cacerts"),
                std::fs::read(&ca.path).expect("ca")
            );
            assert_eq!(
                std::fs::read(msp.join("tlscacerts/tlsca.crt")).expect("tlscacerts"),
                std::fs::read(&tlsca.path).expect("tlsca")
            );
            assert_eq!(
                std::fs::read(id_dir.join("tls/ca.crt")).expect("tls ca"),
                std::fs::read(&tlsca.path).expect("tlsca")
            );
            assert_node_ous_config(&msp.join("config.yaml"));

            // Enrollment certificate.
            let sign = Cert::read(&msp.join("signcerts/cert.pem"));
            sign.assert_common();
            sign.assert_issued_by(&ca);
            assert_eq!(sign.is_ca(), Some(false), "not a CA: {cn}");
            assert_eq!(sign.key_usage_flags(), 1, "digitalSignature only: {cn}");
            assert_eq!(sign.ous(), [ou], "exactly one OU: {cn}");
            assert_eq!(sign.cns(), std::slice::from_ref(&cn));
            assert_eq!(sign.orgs(), [org]);
            assert!(sign.x509().extended_key_usage().expect("eku").is_none());
            let key = read_key(&msp.join("keystore/key.pem"));
            assert_eq!(key.public_key_raw(), sign.public_point().as_slice());

            // TLS certificate.
            let (crt, keyf) = if node_sans.is_some() {
                ("tls/server.crt", "tls/server.key")
            } else {
                ("tls/client.crt", "tls/client.key")
            };
            let tls = Cert::read(&id_dir.join(crt));
            tls.assert_common();
            tls.assert_issued_by(&tlsca);
            assert_eq!(tls.is_ca(), Some(false));
            assert_eq!(
                tls.key_usage_flags(),
                1 | 4,
                "digitalSignature|keyEncipherment: {cn}"
            );
            let tls_x = tls.x509();
            let eku = tls_x
                .extended_key_usage()
                .expect("eku")
                .expect("has eku")
                .value;
            assert!(eku.server_auth && eku.client_auth && !eku.any, "{cn}");
            assert!(eku.other.is_empty() && !eku.code_signing, "{cn}");
            assert_eq!(tls.cns(), std::slice::from_ref(&cn));
            assert!(tls.ous().is_empty());
            let tls_key = read_key(&id_dir.join(keyf));
            assert_eq!(
                tls_key.public_key_raw(),
                tls.public_point().as_slice(),
                "TLS key matches"
            );
            assert_ne!(
                tls_key.public_key_raw(),
                key.public_key_raw(),
                "separate keys"
            );
            match node_sans {
                Some(want) => assert_eq!(tls.sans(), want, "{cn}"),
                None => assert_eq!(tls.sans(), std::slice::from_ref(&cn)),
            }
        }
    }

    // The SANs the brief names, spelled out.
    let peer = Cert::read(&dir.root().join("org1/nodes/peer0-org1/tls/server.crt"));
    let sans = peer.sans();
    for want in [
        "localhost",
        "127.0.0.1",
        "peer0-org1.fabdev.svc.cluster.local",
        "peer0-org1",
    ] {
        assert!(sans.iter().any(|s| s == want), "{want} in {sans:?}");
    }
}

#[test]
fn layout_is_exactly_the_documented_one() {
    let (_tmp, dir, _) = setup(&Workspace::default_network());
    let files: Vec<String> = tree(&dir).into_keys().collect();
    let identity = |base: &str, role: &str| {
        vec![
            format!("{base}/msp/cacerts/ca.crt"),
            format!("{base}/msp/config.yaml"),
            format!("{base}/msp/keystore/key.pem"),
            format!("{base}/msp/signcerts/cert.pem"),
            format!("{base}/msp/tlscacerts/tlsca.crt"),
            format!("{base}/tls/ca.crt"),
            format!("{base}/tls/{role}.crt"),
            format!("{base}/tls/{role}.key"),
        ]
    };
    let mut want = Vec::new();
    for (org, node, users) in [
        ("ordererorg", "orderer0-ordererorg", &["Admin"][..]),
        ("org1", "peer0-org1", &["Admin", "User1"][..]),
        ("org2", "peer0-org2", &["Admin", "User1"][..]),
    ] {
        want.extend([
            format!("{org}/ca/ca.crt"),
            format!("{org}/ca/ca.key"),
            format!("{org}/msp/cacerts/ca.crt"),
            format!("{org}/msp/config.yaml"),
            format!("{org}/msp/tlscacerts/tlsca.crt"),
            format!("{org}/tlsca/tlsca.crt"),
            format!("{org}/tlsca/tlsca.key"),
        ]);
        want.extend(identity(&format!("{org}/nodes/{node}"), "server"));
        for u in users {
            want.extend(identity(&format!("{org}/users/{u}"), "client"));
        }
    }
    want.sort();
    assert_eq!(files, want);
}

#[cfg(unix)]
#[test]
fn key_files_are_0600_and_certs_are_not_secret() {
    let (_tmp, dir, _) = setup(&Workspace::default_network());
    let files = tree(&dir);
    let mut keys = 0;
    for rel in files.keys() {
        let m = mode(&dir.root().join(rel));
        if rel.ends_with(".key") || rel.contains("/keystore/") {
            assert_eq!(m, 0o600, "{rel}");
            keys += 1;
        } else {
            assert_eq!(m, 0o644, "{rel}");
        }
    }
    // 3 orgs x 2 CAs + 8 identities x 2 keys.
    assert_eq!(keys, 6 + 16);
    assert_eq!(
        mode(&dir.root().join("org1/nodes/peer0-org1/msp/keystore")),
        0o755
    );
}
