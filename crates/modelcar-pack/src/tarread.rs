//! A streaming tar reader for converting ModelKit/ModelPack layers: ustar, PAX (`path`,
//! `linkpath`, `size`) and GNU long names, base-256 sizes. It reports where each entry's
//! data starts in the stream, so aligned data in an uncompressed blob can be reflinked.
//! Devices and fifos are refused here; paths and links are checked by the caller.

use crate::error::{Error, Result};
use std::io::Read;

const BLOCK: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    File,
    Dir,
    Symlink,
    Hardlink,
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub path: String,
    pub kind: Type,
    pub size: u64,
    pub mode: u32,
    pub mtime: u64,
    pub link: String,
    /// Offset of the data in the tar stream.
    pub data_at: u64,
}

pub struct Reader<R: Read> {
    inner: R,
    /// Bytes of the stream consumed.
    pub pos: u64,
    /// Data bytes of the current entry not yet read, then its padding.
    left: u64,
    pad: u64,
    done: bool,
}

fn octal(f: &[u8]) -> Option<u64> {
    if f.first().is_some_and(|b| b & 0x80 != 0) {
        // GNU base-256: big-endian, top bit of the first byte is the marker.
        let mut v: u64 = u64::from(f[0] & 0x7f);
        for &b in &f[1..] {
            v = v.checked_mul(256)?.checked_add(u64::from(b))?;
        }
        return Some(v);
    }
    let s: String = f
        .iter()
        .take_while(|&&b| b != 0)
        .map(|&b| b as char)
        .collect();
    let s = s.trim();
    if s.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(s, 8).ok()
}

fn cstr(f: &[u8]) -> String {
    let end = f.iter().position(|&b| b == 0).unwrap_or(f.len());
    String::from_utf8_lossy(&f[..end]).into_owned()
}

impl<R: Read> Reader<R> {
    pub fn new(inner: R) -> Self {
        Reader {
            inner,
            pos: 0,
            left: 0,
            pad: 0,
            done: false,
        }
    }

    fn fill(&mut self, buf: &mut [u8]) -> Result<()> {
        self.inner
            .read_exact(buf)
            .map_err(|e| Error::msg(format!("tar stream ends early or cannot be read: {e}")))?;
        self.pos += buf.len() as u64;
        Ok(())
    }

    fn skip(&mut self, mut n: u64) -> Result<()> {
        let mut b = [0u8; 4096];
        while n > 0 {
            let k = n.min(b.len() as u64) as usize;
            self.fill(&mut b[..k])?;
            n -= k as u64;
        }
        Ok(())
    }

    /// Reads data of the current entry; 0 at its end.
    pub fn read_data(&mut self, buf: &mut [u8]) -> Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let k = self.left.min(buf.len() as u64) as usize;
        let n = self
            .inner
            .read(&mut buf[..k])
            .map_err(|e| Error::msg(format!("cannot read the tar stream: {e}")))?;
        if n == 0 {
            return Err(Error::msg("tar stream ends inside a file's data"));
        }
        self.pos += n as u64;
        self.left -= n as u64;
        Ok(n)
    }

    fn data_to_vec(&mut self, size: u64) -> Result<Vec<u8>> {
        if size > 1 << 20 {
            return Err(Error::msg("tar extended header over 1 MiB; refusing it"));
        }
        let mut v = vec![0u8; size as usize];
        self.fill(&mut v)?;
        self.skip((BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64)?;
        Ok(v)
    }

    /// The next entry, or None at the end of the archive.
    pub fn next(&mut self) -> Result<Option<Entry>> {
        if self.left > 0 {
            let l = self.left;
            self.left = 0;
            self.skip(l)?;
        }
        let p = self.pad;
        self.pad = 0;
        self.skip(p)?;
        let mut long_path: Option<String> = None;
        let mut long_link: Option<String> = None;
        let mut pax_size: Option<u64> = None;
        loop {
            if self.done {
                return Ok(None);
            }
            let mut h = [0u8; BLOCK];
            self.fill(&mut h)?;
            if h.iter().all(|&b| b == 0) {
                self.done = true;
                return Ok(None);
            }
            let sum: u64 = h
                .iter()
                .enumerate()
                .map(|(i, &b)| {
                    if (148..156).contains(&i) {
                        32
                    } else {
                        u64::from(b)
                    }
                })
                .sum();
            if octal(&h[148..156]) != Some(sum) {
                return Err(Error::msg(format!(
                    "bad tar header checksum at offset {}",
                    self.pos - BLOCK as u64
                )));
            }
            let size = octal(&h[124..136]).ok_or_else(|| Error::msg("bad tar size field"))?;
            let flag = h[156];
            match flag {
                b'x' => {
                    let recs = self.data_to_vec(size)?;
                    for (k, v) in pax_records(&recs)? {
                        match k.as_str() {
                            "path" => long_path = Some(v),
                            "linkpath" => long_link = Some(v),
                            "size" => {
                                pax_size =
                                    Some(v.parse().map_err(|_| Error::msg("bad PAX size record"))?)
                            }
                            _ => {}
                        }
                    }
                    continue;
                }
                b'g' => {
                    self.data_to_vec(size)?;
                    continue;
                }
                b'L' => {
                    long_path = Some(cstr(&self.data_to_vec(size)?));
                    continue;
                }
                b'K' => {
                    long_link = Some(cstr(&self.data_to_vec(size)?));
                    continue;
                }
                _ => {}
            }
            let mut path = cstr(&h[0..100]);
            if &h[257..262] == b"ustar" && h[345] != 0 {
                path = format!("{}/{path}", cstr(&h[345..500]));
            }
            let path = long_path.take().unwrap_or(path);
            let link = long_link.take().unwrap_or_else(|| cstr(&h[157..257]));
            let kind = match flag {
                b'0' | 0 | b'7' => Type::File,
                b'5' => Type::Dir,
                b'2' => Type::Symlink,
                b'1' => Type::Hardlink,
                b'3' | b'4' => {
                    return Err(Error::msg(format!(
                        "{path}: a device in the layer; refusing it"
                    )))
                }
                b'6' => {
                    return Err(Error::msg(format!(
                        "{path}: a fifo in the layer; refusing it"
                    )))
                }
                other => {
                    return Err(Error::msg(format!(
                        "{path}: tar entry type {:?} is not supported",
                        other as char
                    )))
                }
            };
            let size = if kind == Type::File {
                pax_size.unwrap_or(size)
            } else {
                0
            };
            let mode = octal(&h[100..108]).unwrap_or(0o644) as u32;
            let mtime = octal(&h[136..148]).unwrap_or(0);
            self.left = size;
            self.pad = (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64;
            return Ok(Some(Entry {
                path,
                kind,
                size,
                mode,
                mtime,
                link,
                data_at: self.pos,
            }));
        }
    }
}

fn pax_records(b: &[u8]) -> Result<Vec<(String, String)>> {
    let bad = || Error::msg("malformed PAX extended header");
    let mut out = Vec::new();
    let mut rest = b;
    while !rest.is_empty() && rest[0] != 0 {
        let sp = rest.iter().position(|&c| c == b' ').ok_or_else(bad)?;
        let len: usize = std::str::from_utf8(&rest[..sp])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(bad)?;
        if len <= sp + 1 || len > rest.len() {
            return Err(bad());
        }
        let rec = &rest[sp + 1..len - 1];
        let eq = rec.iter().position(|&c| c == b'=').ok_or_else(bad)?;
        out.push((
            String::from_utf8_lossy(&rec[..eq]).into_owned(),
            String::from_utf8_lossy(&rec[eq + 1..]).into_owned(),
        ));
        rest = &rest[len..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive() -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_size(0);
        h.set_mode(0o755);
        b.append_data(&mut h, "d/", &[][..]).unwrap();
        let long = format!("d/{}", "x".repeat(150));
        let mut h = tar::Header::new_ustar();
        h.set_size(3);
        h.set_mode(0o644);
        h.set_mtime(7);
        b.append_data(&mut h, &long, &b"abc"[..]).unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        b.append_link(&mut h, "d/l", "x").unwrap();
        b.into_inner().unwrap()
    }

    #[test]
    fn reads_what_the_tar_crate_writes() {
        let a = archive();
        let mut r = Reader::new(&a[..]);
        let e = r.next().unwrap().unwrap();
        assert_eq!((e.path.as_str(), e.kind), ("d/", Type::Dir));
        let e = r.next().unwrap().unwrap();
        assert_eq!(e.path, format!("d/{}", "x".repeat(150)));
        assert_eq!((e.size, e.mode, e.mtime), (3, 0o644, 7));
        let mut buf = [0u8; 10];
        let n = r.read_data(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"abc");
        assert_eq!(&a[e.data_at as usize..e.data_at as usize + 3], b"abc");
        let e = r.next().unwrap().unwrap();
        assert_eq!((e.kind, e.link.as_str()), (Type::Symlink, "x"));
        assert!(r.next().unwrap().is_none());
    }

    #[test]
    fn reads_our_own_aligned_headers() {
        let h = crate::tar::Header {
            path: "models/big",
            kind: crate::tar::Kind::File,
            size: 5,
            mode: 0o644,
            mtime: 0,
            link: "",
        };
        let mut a = crate::tar::header_bytes(&h, 0, true);
        a.extend_from_slice(b"hello");
        a.resize(a.len() + crate::tar::padding(5), 0);
        a.extend_from_slice(&crate::tar::TRAILER);
        let mut r = Reader::new(&a[..]);
        let e = r.next().unwrap().unwrap();
        assert_eq!(
            (e.path.as_str(), e.size, e.data_at % 4096),
            ("models/big", 5, 0)
        );
    }

    #[test]
    fn refuses_devices_and_bad_checksums() {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Char);
        h.set_size(0);
        b.append_data(&mut h, "dev", &[][..]).unwrap();
        let a = b.into_inner().unwrap();
        let e = Reader::new(&a[..]).next().unwrap_err().to_string();
        assert!(e.contains("dev: a device"), "{e}");
        let mut a = archive();
        a[0] ^= 1;
        assert!(Reader::new(&a[..])
            .next()
            .unwrap_err()
            .to_string()
            .contains("checksum"));
    }
}
