//! SHA-256 through `ring` (already here for TLS): its SHA-NI / ARMv8 assembly measured
//! ~2.5x faster than the `sha2` crate on this machine (1 GiB: 0.6 s vs 1.4 s of CPU).

pub struct Sha256(ring::digest::Context);

impl Sha256 {
    pub fn new() -> Self {
        Sha256(ring::digest::Context::new(&ring::digest::SHA256))
    }

    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// "sha256:<hex>".
    pub fn finish(self) -> String {
        hex(self.0.finish().as_ref())
    }
}

/// "sha256:<hex>" of `data`.
pub fn digest(data: &[u8]) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, data).as_ref())
}

fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(7 + 64);
    s.push_str("sha256:");
    for x in b {
        s.push_str(&format!("{x:02x}"));
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_digest() {
        assert_eq!(
            super::digest(b"abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let mut h = super::Sha256::new();
        h.update(b"a");
        h.update(b"bc");
        assert_eq!(h.finish(), super::digest(b"abc"));
    }
}
