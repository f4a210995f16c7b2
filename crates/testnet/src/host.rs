//! The host side of a test network: a bridge with its own /24 from
//! 198.18.0.0/15 (the benchmarking range, never routed), one network
//! namespace per pod joined to it by a veth pair, and an iptables rule that
//! lets the bridge forward to itself (a host dockerd sets FORWARD to DROP).
//!
//! Each network takes a numbered slot, held by a lock file for the life of
//! the owning process: a slot whose lock can be taken has no live owner, so
//! whatever an earlier, killed run left in it (namespaces, bridge, rule) is
//! removed before it is used again.

use std::fs::File;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::TestnetError;

/// Slots, one /24 each: 198.18.<slot>.0/24.
const SLOTS: std::ops::RangeInclusive<u8> = 1..=250;
/// Where slot locks live.
const LOCK_DIR: &str = "/run/fabdev-testnet";

/// Run a command; its output on success, or an error with a pasteable line
/// and what it printed.
pub(crate) fn run(program: &str, args: &[&str]) -> Result<String, TestnetError> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|source| TestnetError::Spawn {
            what: command_line(program, args),
            source,
        })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(TestnetError::Command {
            line: command_line(program, args),
            status: out.status.to_string(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
            .trim()
            .to_string(),
        })
    }
}

pub(crate) fn command_line(program: &str, args: &[&str]) -> String {
    std::iter::once(program)
        .chain(args.iter().copied())
        .map(|a| {
            if a.is_empty() || a.contains(|c: char| c.is_whitespace() || "'\"$\\;&|".contains(c)) {
                format!("'{}'", a.replace('\'', r"'\''"))
            } else {
                a.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A network slot: its lock, bridge and address range.
#[derive(Debug)]
pub struct Slot {
    pub(crate) number: u8,
    _lock: File,
}

impl Slot {
    /// Take the first free slot, clearing what a dead owner left in it.
    pub(crate) fn take() -> Result<Slot, TestnetError> {
        std::fs::create_dir_all(LOCK_DIR).map_err(|source| TestnetError::Io {
            action: "create",
            path: PathBuf::from(LOCK_DIR),
            source,
        })?;
        for number in SLOTS {
            let path = Path::new(LOCK_DIR).join(format!("slot-{number}.lock"));
            let file = File::create(&path).map_err(|source| TestnetError::Io {
                action: "create",
                path: path.clone(),
                source,
            })?;
            if file.try_lock().is_ok() {
                let slot = Slot {
                    number,
                    _lock: file,
                };
                slot.clear();
                return Ok(slot);
            }
        }
        Err(TestnetError::NoSlot)
    }

    /// The prefix of the slot's network folder under the work folder.
    pub(crate) fn folder_prefix(&self) -> String {
        format!("fabdev-testnet-slot{}-", self.number)
    }

    /// Remove network folders of this slot that a killed run left in
    /// `work_dir`.
    pub(crate) fn clear_folders(&self, work_dir: &Path) {
        let prefix = self.folder_prefix();
        let Ok(entries) = std::fs::read_dir(work_dir) else {
            return;
        };
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }

    pub(crate) fn bridge(&self) -> String {
        format!("fdtbr{}", self.number)
    }

    /// The host's address on the bridge.
    pub(crate) fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::new(198, 18, self.number, 1)
    }

    /// The address of the pod with this index.
    pub(crate) fn pod_ip(&self, index: usize) -> Result<Ipv4Addr, TestnetError> {
        u8::try_from(10 + index)
            .ok()
            .filter(|h| *h < 255)
            .map(|h| Ipv4Addr::new(198, 18, self.number, h))
            .ok_or(TestnetError::TooManyPods { pods: index + 1 })
    }

    pub(crate) fn netns(&self, pod: &str) -> String {
        format!("fdt{}-{pod}", self.number)
    }

    fn netns_prefix(&self) -> String {
        format!("fdt{}-", self.number)
    }

    pub(crate) fn veth(&self, index: usize) -> (String, String) {
        (
            format!("fdt{}h{index}", self.number),
            format!("fdt{}p{index}", self.number),
        )
    }

    fn forward_rule(&self) -> Vec<String> {
        let br = self.bridge();
        ["FORWARD", "-i", &br, "-o", &br, "-j", "ACCEPT"]
            .iter()
            .map(|s| (*s).to_string())
            .collect()
    }

    /// The bridge, up, with the host's address, and forwarding inside it.
    pub(crate) fn create_bridge(&self) -> Result<(), TestnetError> {
        let br = self.bridge();
        run("ip", &["link", "add", &br, "type", "bridge"])?;
        run(
            "ip",
            &["addr", "add", &format!("{}/24", self.gateway()), "dev", &br],
        )?;
        run("ip", &["link", "set", &br, "up"])?;
        let rule = self.forward_rule();
        let mut args: Vec<&str> = vec!["-w", "-I"];
        args.extend(rule.iter().map(String::as_str));
        run("iptables", &args)?;
        Ok(())
    }

    /// A pod's network namespace with loopback up and `eth0` on the bridge.
    pub(crate) fn create_pod_netns(
        &self,
        pod: &str,
        index: usize,
        ip: Ipv4Addr,
    ) -> Result<(), TestnetError> {
        let ns = self.netns(pod);
        let (host, inside) = self.veth(index);
        run("ip", &["netns", "add", &ns])?;
        run("ip", &["-n", &ns, "link", "set", "lo", "up"])?;
        run(
            "ip",
            &[
                "link", "add", &host, "type", "veth", "peer", "name", &inside,
            ],
        )?;
        run("ip", &["link", "set", &inside, "netns", &ns])?;
        run("ip", &["-n", &ns, "link", "set", &inside, "name", "eth0"])?;
        run(
            "ip",
            &["-n", &ns, "addr", "add", &format!("{ip}/24"), "dev", "eth0"],
        )?;
        run("ip", &["-n", &ns, "link", "set", "eth0", "up"])?;
        run(
            "ip",
            &[
                "-n",
                &ns,
                "route",
                "add",
                "default",
                "via",
                &self.gateway().to_string(),
            ],
        )?;
        run("ip", &["link", "set", &host, "master", &self.bridge()])?;
        run("ip", &["link", "set", &host, "up"])?;
        Ok(())
    }

    /// Remove everything of this slot: namespaces (their veths go with
    /// them), the bridge, the forward rule. Best effort; what cannot be
    /// removed is returned as text.
    pub(crate) fn clear(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Ok(list) = run("ip", &["netns", "list"]) {
            for ns in list
                .lines()
                .filter_map(|l| l.split_whitespace().next())
                .filter(|n| n.starts_with(&self.netns_prefix()))
            {
                if let Err(e) = run("ip", &["netns", "delete", ns]) {
                    problems.push(e.to_string());
                }
            }
        }
        let br = self.bridge();
        if run("ip", &["link", "show", &br]).is_ok()
            && let Err(e) = run("ip", &["link", "delete", &br])
        {
            problems.push(e.to_string());
        }
        let rule = self.forward_rule();
        let mut args: Vec<&str> = vec!["-w", "-D"];
        args.extend(rule.iter().map(String::as_str));
        // Inserted once per run; a killed run may have left several.
        for _ in 0..16 {
            if run("iptables", &args).is_err() {
                break;
            }
        }
        problems
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_paste() {
        assert_eq!(
            command_line("ip", &["-n", "fdt1-peer0", "addr", "add", "198.18.1.10/24"]),
            "ip -n fdt1-peer0 addr add 198.18.1.10/24"
        );
        assert_eq!(
            command_line("sh", &["-c", "echo 'a b'"]),
            r"sh -c 'echo '\''a b'\'''"
        );
        assert_eq!(command_line("x", &[""]), "x ''");
    }

    #[test]
    fn names_fit_linux_interface_names() {
        let slot = Slot {
            number: 250,
            _lock: File::open("/dev/null").expect("/dev/null"),
        };
        let (h, p) = slot.veth(99);
        assert!(h.len() <= 15 && p.len() <= 15 && slot.bridge().len() <= 15);
        assert_eq!(slot.pod_ip(0).expect("ip"), Ipv4Addr::new(198, 18, 250, 10));
        assert!(slot.pod_ip(245).is_err());
        // Not dropped through Drop: this slot was never taken.
        std::mem::forget(slot);
    }
}
