//! Deterministic tar headers, written by hand rather than with the `tar` crate because the
//! reflink fast path needs every large file's data at a 4 KiB-aligned offset of the layer
//! blob, which we get by sizing a PAX extended header (a `comment` record pads it).
//! Entries are owned by 0:0 with no user/group names and a fixed mtime.

pub const BLOCK: u64 = 512;
/// Data of aligned entries starts at a multiple of this (the usual fs block size). Fixed,
/// never taken from the filesystem, so digests do not depend on where the layout is written.
pub const ALIGN: u64 = 4096;
/// Largest size a ustar octal field holds (8 GiB - 1).
const USTAR_MAX_SIZE: u64 = 0o777_7777_7777;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    /// Only in converted layers (a source layer's hard link to an earlier entry).
    Hardlink,
}

/// One tar entry's metadata.
pub struct Header<'a> {
    pub path: &'a str,
    pub kind: Kind,
    pub size: u64,
    pub mode: u32,
    pub mtime: u64,
    pub link: &'a str,
}

/// Bytes of the header(s) for `h` written at stream offset `offset`. With `align`, the
/// data that follows starts at a multiple of [`ALIGN`].
pub fn header_bytes(h: &Header, offset: u64, align: bool) -> Vec<u8> {
    let name = match h.kind {
        Kind::Dir => format!("{}/", h.path),
        _ => h.path.to_string(),
    };
    let mut records = Vec::new();
    if name.len() > 100 {
        records.extend(pax_record("path", &name));
    }
    if h.link.len() > 100 {
        records.extend(pax_record("linkpath", h.link));
    }
    if h.size > USTAR_MAX_SIZE {
        records.extend(pax_record("size", &h.size.to_string()));
    }
    let mut out = Vec::new();
    if align {
        // offset + pax header + k pax data blocks + ustar header must be ALIGN-aligned.
        let per = ALIGN / BLOCK;
        let base = (offset + 2 * BLOCK) / BLOCK % per;
        let mut k = (per - base) % per;
        // Room for the padding record ("NNNN comment=\n" needs at least 14 bytes).
        while k == 0 || k * BLOCK < records.len() as u64 + 16 {
            k += per;
        }
        let fill = (k * BLOCK) as usize - records.len();
        records.extend(pax_padding(fill));
    }
    if !records.is_empty() {
        let pax = Header {
            path: "././@PaxHeader",
            kind: Kind::File,
            size: records.len() as u64,
            mode: 0o644,
            mtime: h.mtime,
            link: "",
        };
        out.extend_from_slice(&ustar(&pax, "././@PaxHeader", b'x'));
        out.extend_from_slice(&records);
        pad_block(&mut out);
    }
    let flag = match h.kind {
        Kind::File => b'0',
        Kind::Dir => b'5',
        Kind::Symlink => b'2',
        Kind::Hardlink => b'1',
    };
    out.extend_from_slice(&ustar(h, &name, flag));
    debug_assert!(!align || (offset + out.len() as u64).is_multiple_of(ALIGN));
    out
}

/// Zero bytes that end an entry of `size` bytes on a block boundary.
pub fn padding(size: u64) -> usize {
    ((BLOCK - size % BLOCK) % BLOCK) as usize
}

/// The end-of-archive marker: two zero blocks.
pub const TRAILER: [u8; 1024] = [0; 1024];

fn pad_block(v: &mut Vec<u8>) {
    let n = padding(v.len() as u64);
    v.resize(v.len() + n, 0);
}

fn pax_record(key: &str, value: &str) -> Vec<u8> {
    // "LEN key=value\n" where LEN counts itself.
    let body = key.len() + value.len() + 3;
    let mut len = body + 1;
    while len != body + len.to_string().len() {
        len = body + len.to_string().len();
    }
    format!("{len} {key}={value}\n").into_bytes()
}

/// A `comment` record of exactly `n` bytes (n >= 16).
fn pax_padding(n: usize) -> Vec<u8> {
    let digits = n.to_string().len();
    let fixed = digits + " comment=\n".len();
    let rec = format!("{n} comment={}\n", "x".repeat(n - fixed));
    debug_assert_eq!(rec.len(), n);
    rec.into_bytes()
}

fn octal(field: &mut [u8], v: u64) {
    let s = format!("{:0w$o}", v, w = field.len() - 1);
    field[..s.len()].copy_from_slice(s.as_bytes());
    field[s.len()] = 0;
}

fn ustar(h: &Header, name: &str, flag: u8) -> [u8; 512] {
    let mut b = [0u8; 512];
    // Long names and links are in the PAX record; the ustar field keeps a truncated copy.
    let nb = name.as_bytes();
    let nl = nb.len().min(100);
    b[..nl].copy_from_slice(&nb[..nl]);
    octal(&mut b[100..108], u64::from(h.mode));
    octal(&mut b[108..116], 0);
    octal(&mut b[116..124], 0);
    if h.size > USTAR_MAX_SIZE {
        // GNU base-256 as well as the PAX record: readers that know either get the size.
        b[124] = 0x80;
        for (i, byte) in h.size.to_be_bytes().iter().enumerate() {
            b[128 + i] = *byte;
        }
    } else {
        octal(&mut b[124..136], h.size);
    }
    octal(&mut b[136..148], h.mtime);
    b[156] = flag;
    let lb = h.link.as_bytes();
    let ll = lb.len().min(100);
    b[157..157 + ll].copy_from_slice(&lb[..ll]);
    b[257..263].copy_from_slice(b"ustar\0");
    b[263..265].copy_from_slice(b"00");
    octal(&mut b[329..337], 0);
    octal(&mut b[337..345], 0);
    b[148..156].copy_from_slice(b"        ");
    let sum: u32 = b.iter().map(|&x| u32::from(x)).sum();
    let s = format!("{sum:06o}\0 ");
    b[148..156].copy_from_slice(s.as_bytes());
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, size: u64) -> Header<'_> {
        Header {
            path,
            kind: Kind::File,
            size,
            mode: 0o644,
            mtime: 0,
            link: "",
        }
    }

    #[test]
    fn pax_record_counts_its_own_length() {
        for v in ["", "a", &"y".repeat(90), &"z".repeat(95), &"w".repeat(994)] {
            let r = pax_record("path", v);
            let s = String::from_utf8(r.clone()).unwrap();
            let n: usize = s.split(' ').next().unwrap().parse().unwrap();
            assert_eq!(n, r.len(), "{s:?}");
        }
    }

    #[test]
    fn aligned_headers_put_data_on_4k() {
        for off in (0..64).map(|i| i * BLOCK) {
            for name in ["models/a", &format!("models/{}", "n".repeat(200))] {
                for size in [1, USTAR_MAX_SIZE + 1] {
                    let h = header_bytes(&file(name, size), off, true);
                    assert_eq!((off + h.len() as u64) % ALIGN, 0);
                    assert_eq!(h.len() as u64 % BLOCK, 0);
                }
            }
        }
    }

    #[test]
    fn checksum_is_valid() {
        let h = header_bytes(&file("models/x", 5), 0, false);
        assert_eq!(h.len(), 512);
        let stored = u32::from_str_radix(std::str::from_utf8(&h[148..154]).unwrap(), 8).unwrap();
        let sum: u32 = h
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    u32::from(x)
                }
            })
            .sum();
        assert_eq!(stored, sum);
    }
}
