//! A tar writer that lays out headers exactly as Go's `archive/tar` does for
//! the headers the Fabric peer CLI writes (Go 1.22+ behaviour).
//!
//! Every header is built from the values given here, never from filesystem
//! metadata: there is no mtime, owner name, device number or permission bit
//! that the caller did not choose.
//!
//! What Go does for a header with no explicit format, and so what this does:
//! - USTAR when every field fits: ASCII name of at most 100 bytes, or a longer
//!   ASCII name split at a `/` into a prefix (<= 155 bytes) and a name
//!   (<= 100 bytes); numbers in NUL-terminated zero-padded octal.
//! - Otherwise PAX: an `x` header named `<dir>/PaxHeaders.0/<file>` holding
//!   `path` and/or `size` records (sorted by key), then the main header with
//!   the ASCII-only, truncated name.
//! - Checksum as six octal digits, NUL, space; magic `ustar\0`, version `00`.
//! - Data padded to 512 bytes; two zero blocks at the end, no record padding.

use std::io::{self, Write};

const BLOCK: usize = 512;
const NAME_SIZE: usize = 100;
const PREFIX_SIZE: usize = 155;

// Field offsets of the USTAR header.
const NAME: (usize, usize) = (0, 100);
const MODE: (usize, usize) = (100, 8);
const UID: (usize, usize) = (108, 8);
const GID: (usize, usize) = (116, 8);
const SIZE: (usize, usize) = (124, 12);
const MTIME: (usize, usize) = (136, 12);
const CHKSUM: (usize, usize) = (148, 8);
const TYPEFLAG: usize = 156;
const LINKNAME: (usize, usize) = (157, 100);
const MAGIC: (usize, usize) = (257, 6);
const VERSION: (usize, usize) = (263, 2);
const UNAME: (usize, usize) = (265, 32);
const GNAME: (usize, usize) = (297, 32);
const DEVMAJOR: (usize, usize) = (329, 8);
const DEVMINOR: (usize, usize) = (337, 8);
const PREFIX: (usize, usize) = (345, 155);

/// Type flag of a regular file.
pub(crate) const TYPE_REG: u8 = b'0';
/// Type flag of a directory.
pub(crate) const TYPE_DIR: u8 = b'5';
const TYPE_PAX: u8 = b'x';

/// One entry's header values; everything not here is zero or empty.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry<'a> {
    pub name: &'a str,
    pub typeflag: u8,
    /// Full mode including the file-type bits, as Fabric writes it
    /// (0o100644 for files, 0o40755 for directories).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// Writes a tar stream to `W`.
#[derive(Debug)]
pub(crate) struct TarWriter<W: Write> {
    w: W,
}

impl<W: Write> TarWriter<W> {
    pub(crate) fn new(w: W) -> Self {
        TarWriter { w }
    }

    /// Writes one entry: its header(s), `data` and the padding to 512 bytes.
    /// Directories take empty data.
    pub(crate) fn append(&mut self, entry: &Entry<'_>, data: &[u8]) -> io::Result<()> {
        self.header(entry, data.len() as u64)?;
        self.w.write_all(data)?;
        self.pad(data.len() as u64)
    }

    /// Writes one regular file of exactly `size` bytes read from `r`, without
    /// holding it in memory: its header(s), the bytes and the padding. Fails
    /// (with `InvalidData`) when `r` gives fewer bytes, or more, than `size`:
    /// the file changed since its size was taken.
    pub(crate) fn append_reader(
        &mut self,
        entry: &Entry<'_>,
        size: u64,
        r: &mut dyn io::Read,
    ) -> io::Result<()> {
        self.header(entry, size)?;
        let copied = io::copy(&mut io::Read::take(&mut *r, size), &mut self.w)?;
        let mut probe = [0u8; 1];
        if copied != size || r.read(&mut probe)? != 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{}: its size changed while it was being packaged ({size} bytes expected)",
                    entry.name
                ),
            ));
        }
        self.pad(size)
    }

    /// The header(s) of an entry whose data is `size` bytes long.
    fn header(&mut self, entry: &Entry<'_>, size: u64) -> io::Result<()> {
        if entry.typeflag == TYPE_REG && entry.name.ends_with('/') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("tar: file name {:?} may not end with '/'", entry.name),
            ));
        }
        let name = entry.name;

        // Which fields USTAR cannot hold (Go's allowedFormats, restricted to
        // the fields fabdev sets).
        let mut pax: Vec<(&str, String)> = Vec::new();
        let mut ustar_ok = true;
        if !name.is_ascii() || name.len() > NAME_SIZE {
            if split_ustar_path(name).is_none() {
                ustar_ok = false;
            }
            pax.push(("path", name.to_string()));
        }
        if !fits_in_octal(SIZE.1, size) {
            ustar_ok = false;
            pax.push(("size", size.to_string()));
        }

        if ustar_ok {
            let mut blk = [0u8; BLOCK];
            let (prefix, short) = match split_ustar_path(name) {
                Some((p, s)) => (p, s),
                None => ("", name),
            };
            template(&mut blk, entry, short, size);
            put_str(&mut blk, PREFIX, prefix);
            finish_block(&mut blk);
            self.w.write_all(&blk)
        } else {
            pax.sort_by(|a, b| a.0.cmp(b.0));
            let mut records = String::new();
            for (k, v) in &pax {
                records.push_str(&pax_record(k, v));
            }
            self.write_pax_header(&pax_header_name(name), records.as_bytes())?;
            let mut blk = [0u8; BLOCK];
            let ascii = to_ascii(name);
            template(&mut blk, entry, &ascii, size);
            finish_block(&mut blk);
            self.w.write_all(&blk)
        }
    }

    /// Go's `writeRawFile` for a PAX extended header.
    fn write_pax_header(&mut self, name: &str, data: &[u8]) -> io::Result<()> {
        let mut name = to_ascii(name);
        name.truncate(NAME_SIZE);
        let name = name.trim_end_matches('/');
        let mut blk = [0u8; BLOCK];
        blk[TYPEFLAG] = TYPE_PAX;
        put_str(&mut blk, NAME, name);
        put_octal(&mut blk, MODE, 0);
        put_octal(&mut blk, UID, 0);
        put_octal(&mut blk, GID, 0);
        put_octal(&mut blk, SIZE, data.len() as u64);
        put_octal(&mut blk, MTIME, 0);
        finish_block(&mut blk);
        self.w.write_all(&blk)?;
        self.w.write_all(data)?;
        self.pad(data.len() as u64)
    }

    fn pad(&mut self, len: u64) -> io::Result<()> {
        let rem = (len % BLOCK as u64) as usize;
        if rem != 0 {
            self.w.write_all(&[0u8; BLOCK][..BLOCK - rem])?;
        }
        Ok(())
    }

    /// Writes the two zero blocks that end the archive and returns the writer.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        self.w.write_all(&[0u8; 2 * BLOCK])?;
        Ok(self.w)
    }
}

/// The V7 + USTAR fields of a main header (Go's `templateV7Plus`).
fn template(blk: &mut [u8; BLOCK], e: &Entry<'_>, name: &str, size: u64) {
    blk[TYPEFLAG] = e.typeflag;
    put_str(blk, NAME, name);
    put_str(blk, LINKNAME, "");
    put_octal(blk, MODE, u64::from(e.mode));
    put_octal(blk, UID, u64::from(e.uid));
    put_octal(blk, GID, u64::from(e.gid));
    // Go writes 0 when the size does not fit (the PAX record carries it).
    put_octal(
        blk,
        SIZE,
        if fits_in_octal(SIZE.1, size) { size } else { 0 },
    );
    put_octal(blk, MTIME, 0);
    put_str(blk, UNAME, "");
    put_str(blk, GNAME, "");
    put_octal(blk, DEVMAJOR, 0);
    put_octal(blk, DEVMINOR, 0);
}

/// Magic, version and checksum (Go's `setFormat` for USTAR and PAX).
fn finish_block(blk: &mut [u8; BLOCK]) {
    put_bytes(blk, MAGIC, b"ustar\0");
    put_bytes(blk, VERSION, b"00");
    let sum: u64 = blk
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            if (CHKSUM.0..CHKSUM.0 + CHKSUM.1).contains(&i) {
                u64::from(b' ')
            } else {
                u64::from(c)
            }
        })
        .sum();
    put_octal(blk, (CHKSUM.0, 7), sum);
    blk[CHKSUM.0 + 7] = b' ';
}

fn put_bytes(blk: &mut [u8; BLOCK], (off, len): (usize, usize), b: &[u8]) {
    let n = b.len().min(len);
    blk[off..off + n].copy_from_slice(&b[..n]);
}

/// Go's `formatter.formatString`: copy, NUL-terminate when there is room;
/// when truncated and the last byte copied is '/', cut trailing slashes.
fn put_str(blk: &mut [u8; BLOCK], (off, len): (usize, usize), s: &str) {
    let b = s.as_bytes();
    let field = &mut blk[off..off + len];
    let n = b.len().min(len);
    field[..n].copy_from_slice(&b[..n]);
    if b.len() < len {
        field[b.len()] = 0;
    }
    if b.len() > len && field[len - 1] == b'/' {
        let kept = s[..len - 1].trim_end_matches('/').len();
        field[kept] = 0;
    }
}

/// Go's `formatter.formatOctal`: zero-padded octal leaving room for a NUL.
fn put_octal(blk: &mut [u8; BLOCK], (off, len): (usize, usize), x: u64) {
    let x = if fits_in_octal(len, x) { x } else { 0 };
    let digits = format!("{x:o}");
    let s = if digits.len() + 1 < len {
        format!("{}{digits}", "0".repeat(len - digits.len() - 1))
    } else {
        digits
    };
    let field = &mut blk[off..off + len];
    field.fill(0);
    let n = s.len().min(len);
    field[..n].copy_from_slice(&s.as_bytes()[..n]);
}

fn fits_in_octal(len: usize, x: u64) -> bool {
    let bits = (len - 1) * 3;
    len >= 22 || x < (1u64 << bits)
}

/// Go's `splitUSTARPath`.
fn split_ustar_path(name: &str) -> Option<(&str, &str)> {
    let mut length = name.len();
    if length <= NAME_SIZE || !name.is_ascii() {
        return None;
    } else if length > PREFIX_SIZE + 1 {
        length = PREFIX_SIZE + 1;
    } else if name.as_bytes()[length - 1] == b'/' {
        length -= 1;
    }
    let i = name[..length].rfind('/')?;
    let nlen = name.len() - i - 1;
    if i == 0 || nlen > NAME_SIZE || nlen == 0 || i > PREFIX_SIZE {
        return None;
    }
    Some((&name[..i], &name[i + 1..]))
}

/// Go's `toASCII`: drops every non-ASCII character (and NUL).
fn to_ascii(s: &str) -> String {
    s.chars().filter(|&c| c.is_ascii() && c != '\0').collect()
}

/// `path.Join(dir, "PaxHeaders.0", file)` where `dir, file = path.Split(name)`.
fn pax_header_name(name: &str) -> String {
    let (dir, file) = match name.rfind('/') {
        Some(i) => (&name[..=i], &name[i + 1..]),
        None => ("", name),
    };
    let mut out = format!("{dir}PaxHeaders.0");
    if !file.is_empty() {
        out.push('/');
        out.push_str(file);
    }
    out
}

/// Go's `formatPAXRecord`: "<len> <key>=<value>\n" where len counts itself.
fn pax_record(k: &str, v: &str) -> String {
    let mut size = k.len() + v.len() + 3;
    size += size.to_string().len();
    let mut rec = format!("{size} {k}={v}\n");
    if rec.len() != size {
        size = rec.len();
        rec = format!("{size} {k}={v}\n");
    }
    rec
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn file<'a>(name: &'a str) -> Entry<'a> {
        Entry {
            name,
            typeflag: TYPE_REG,
            mode: 0o100644,
            uid: 500,
            gid: 500,
        }
    }

    #[test]
    fn ustar_file_header_bytes() {
        let mut tw = TarWriter::new(Vec::new());
        tw.append(&file("src/main.go"), b"package main\n").unwrap();
        let out = tw.finish().unwrap();
        assert_eq!(out.len(), 512 + 512 + 1024);
        let h = &out[..512];
        assert_eq!(&h[..12], b"src/main.go\0");
        assert_eq!(&h[100..108], b"0100644\0");
        assert_eq!(&h[108..116], b"0000764\0");
        assert_eq!(&h[116..124], b"0000764\0");
        assert_eq!(&h[124..136], b"00000000015\0");
        assert_eq!(&h[136..148], b"00000000000\0");
        assert_eq!(h[156], b'0');
        assert_eq!(&h[257..265], b"ustar\x0000");
        assert_eq!(&h[329..345], b"0000000\x000000000\0");
        assert_eq!(h[154], 0);
        assert_eq!(h[155], b' ');
        let sum: u32 = h
            .iter()
            .enumerate()
            .map(|(i, &c)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    u32::from(c)
                }
            })
            .sum();
        assert_eq!(&h[148..154], format!("{sum:06o}").as_bytes());
    }

    #[test]
    fn split_and_pax_names() {
        let long_dir = "d".repeat(120);
        let split = format!("src/{long_dir}/x.go");
        assert_eq!(split_ustar_path(&split), Some((&split[..124], "x.go")));
        assert_eq!(split_ustar_path("short"), None);
        assert_eq!(split_ustar_path(&"x".repeat(101)), None);
        assert_eq!(pax_header_name("src/é.js"), "src/PaxHeaders.0/é.js");
        assert_eq!(pax_header_name("src/dir/"), "src/dir/PaxHeaders.0");
        assert_eq!(pax_record("path", "src/é.js"), "18 path=src/é.js\n");
        // A record whose length gains a digit once the length is counted.
        let v = "a".repeat(92);
        assert_eq!(pax_record("path", &v), format!("102 path={v}\n"));
    }

    /// A stream written by Go's archive/tar (go1.26) for the same headers:
    /// a directory, a file, a split USTAR name, a non-ASCII name and a name
    /// too long for USTAR (both PAX), with the same uid/gid/mode values.
    /// Only its length and SHA-256 are kept here.
    #[test]
    fn matches_go_archive_tar() {
        let mut tw = TarWriter::new(Vec::new());
        let dir = Entry {
            name: "src/",
            typeflag: TYPE_DIR,
            mode: 0o40755,
            uid: 500,
            gid: 500,
        };
        tw.append(&dir, b"").unwrap();
        tw.append(&file("src/go.mod"), b"module example.com/x\n")
            .unwrap();
        let split = format!("src/{}/x.go", "d".repeat(120));
        tw.append(&file(&split), b"package x\n").unwrap();
        tw.append(&file("src/café/naïve.js"), b"// hi\n").unwrap();
        let long = format!("src/{}.js", "n".repeat(200));
        tw.append(&file(&long), &[7u8; 600]).unwrap();
        let outer = Entry {
            name: "metadata.json",
            typeflag: TYPE_REG,
            mode: 0o100644,
            uid: 0,
            gid: 0,
        };
        tw.append(&outer, br#"{"path":"x","type":"golang","label":"x"}"#)
            .unwrap();
        let out = tw.finish().unwrap();
        assert_eq!(out.len(), GO_LEN);
        assert_eq!(hex::encode(Sha256::digest(&out)), GO_SHA256);
    }

    const GO_LEN: usize = 9216;
    const GO_SHA256: &str = "d9a674b1f7fa76cefb43b0acd90942c78183f8b181a3a4f4071e1727b508e73f";
}
