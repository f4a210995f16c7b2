//! The names a peer gives a chaincode's container and image, and the
//! version fabdev gives a package.

/// The network ID peers use in image names (`peer.networkId`, default).
pub const NETWORK_ID: &str = "dev";

/// The name a peer's Docker daemon gives a chaincode's container:
/// `<network>-<peer>-<package ID>` with every character outside
/// `[a-zA-Z0-9-_.]` (the package ID's `:` among them) as `-` (Fabric's
/// `GetVMName`). Also a prefix: `chaincode_container_name(n, p, "basic_")`
/// starts the name of every package labelled `basic_…`.
pub fn chaincode_container_name(network_id: &str, peer_id: &str, package_id: &str) -> String {
    format!("{network_id}-{peer_id}-{package_id}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The image name a peer's Docker builder gives (and looks for) a package:
/// `<network>-<peer>-<package ID>` with `:` as `-`, other characters outside
/// `[a-zA-Z0-9-_.]` as `-`, lower-cased, then `-<sha256 hex of that name>`
/// (Fabric's `GetVMNameForDocker`).
pub fn chaincode_image_name(network_id: &str, peer_id: &str, package_id: &str) -> String {
    use sha2::{Digest, Sha256};
    let name = format!("{network_id}-{peer_id}-{package_id}").replace(':', "-");
    let hash = hex::encode(Sha256::digest(name.as_bytes()));
    let sanitized = chaincode_container_name(network_id, peer_id, package_id);
    format!("{sanitized}-{hash}").to_ascii_lowercase()
}

/// The version fabdev gives a package: the first 12 hex digits of its
/// hash, so that a changed package is a new version without anyone naming
/// one.
pub fn version_of(package_id: &str) -> String {
    let hash = package_id.rsplit_once(':').map_or(package_id, |(_, h)| h);
    hash.chars().take(12).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names_as_the_peer_makes_them() {
        // Seen in a real 2.5.14 peer's build error.
        assert_eq!(
            chaincode_image_name(
                "dev",
                "peer0-org1",
                "basic_1:f5f924900a6507c136ac1bb2679257b341f6e5937df03b560e533c70464c6a15"
            ),
            "dev-peer0-org1-basic_1-f5f924900a6507c136ac1bb2679257b341f6e5937df03b560e533c70464c6a15-\
             bf26c897bf656d6a68b944ecda7297c5843321f71db3ad1a9f5af4bd425062b2"
        );
        assert_eq!(chaincode_image_name("dev", "Peer0", "A b:1"), {
            use sha2::{Digest, Sha256};
            format!(
                "dev-peer0-a-b-1-{}",
                hex::encode(Sha256::digest(b"dev-Peer0-A b-1"))
            )
        });
    }

    #[test]
    fn versions_come_from_the_package_hash() {
        assert_eq!(version_of("basic_1:0123456789abcdef0123"), "0123456789ab");
    }
}
