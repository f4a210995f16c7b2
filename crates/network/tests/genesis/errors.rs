//! What a block cannot be built from, each named.

use super::*;

#[test]
fn unknown_channel_is_an_error_listing_the_known_ones() {
    let net = Net::new(Workspace::default_network());
    let err = genesis_block(&net.ws, &net.topo, &net.crypto, "otherchannel").expect_err("unknown");
    assert!(matches!(err, GenesisError::UnknownChannel { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("\"otherchannel\"") && msg.contains("mychannel"),
        "{msg}"
    );
}

#[test]
fn a_channel_name_fabric_rejects_is_an_error() {
    let mut ws = Workspace::default_network();
    ws.channels[0].name = "My_Channel".into();
    let topo = Topology::of(&ws);
    let dir = tempfile::tempdir().expect("tempdir");
    let err =
        genesis_block(&ws, &topo, &CryptoDir::new(dir.path()), "My_Channel").expect_err("bad name");
    assert!(
        matches!(err, GenesisError::InvalidChannelName { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("My_Channel"), "{err}");
}

#[test]
fn no_orderers_is_an_error() {
    let mut ws = Workspace::default_network();
    ws.orderer.count = 0;
    let topo = Topology::of(&ws);
    let dir = tempfile::tempdir().expect("tempdir");
    let err = genesis_block(&ws, &topo, &CryptoDir::new(dir.path()), "mychannel")
        .expect_err("no orderers");
    assert!(matches!(err, GenesisError::NoOrderers { .. }), "{err}");
    assert!(err.to_string().contains("no orderers"), "{err}");
    assert!(
        err.hint().is_some_and(|h| h.contains("orderer.count")),
        "{err:?}"
    );
}

#[test]
fn a_block_from_crypto_already_read_touches_no_file() {
    let net = Net::new(Workspace::default_network());
    let view = CryptoView::read(&net.ws, &net.topo, &net.crypto).expect("read");
    let from_dir = net.block("mychannel");
    std::fs::remove_dir_all(net.crypto.root()).expect("remove the crypto folder");
    let from_view =
        genesis_block_from(&net.ws, &net.topo, &view, &GenesisOptions::new("mychannel"))
            .expect("block from the view");
    assert_eq!(from_view, from_dir);
}

#[test]
fn a_missing_tls_ca_names_its_path() {
    let net = Net::new(Workspace::default_network());
    let path = net.crypto.org_msp_dir("Org2").join("tlscacerts/tlsca.crt");
    std::fs::remove_file(&path).expect("remove");
    let err = genesis_block(&net.ws, &net.topo, &net.crypto, "mychannel").expect_err("missing");
    match &err {
        GenesisError::Crypto {
            org,
            path: p,
            source,
            ..
        } => {
            assert_eq!(org, "Org2");
            assert_eq!(p, &path);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("wrong error: {other}"),
    }
    let msg = err.to_string();
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("mychannel"), "{msg}");
    assert!(
        err.hint().is_some_and(|h| h.contains("fabdev render")),
        "{err:?}"
    );
    assert!(std::error::Error::source(&err).is_some());
}

#[test]
fn a_missing_orderer_tls_cert_names_its_path() {
    let net = Net::new(Workspace::default_network());
    let node = net.topo.orderers().next().expect("orderer");
    let path = net.crypto.node_dir(node).join("tls/server.crt");
    std::fs::remove_file(&path).expect("remove");
    let err = genesis_block(&net.ws, &net.topo, &net.crypto, "mychannel").expect_err("missing");
    assert!(matches!(err, GenesisError::Crypto { .. }), "{err}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
}

#[test]
fn a_ca_file_that_is_not_a_certificate_is_an_error() {
    let net = Net::new(Workspace::default_network());
    let path = net.crypto.org_msp_dir("Org1").join("cacerts/ca.crt");
    std::fs::write(&path, "not a certificate\n").expect("write");
    let err = genesis_block(&net.ws, &net.topo, &net.crypto, "mychannel").expect_err("bad");
    match &err {
        GenesisError::BadCrypto { org, path: p, .. } => {
            assert_eq!(org, "Org1");
            assert_eq!(p, &path);
        }
        other => panic!("wrong error: {other}"),
    }
}
