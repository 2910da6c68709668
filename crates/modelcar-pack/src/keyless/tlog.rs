//! Rekor evidence, checked offline against the log key of the trusted root: the signed entry
//! timestamp (SET, the log's promise to include the entry) and the inclusion proof with its
//! signed checkpoint (RFC 9162 Merkle audit path). The entry's body is tied to the signature
//! being verified by the caller (see `bundle.rs`).

use super::cert::{Hash, Key};
use super::trust::{b64, TrustedRoot};
use crate::error::{Error, Result};
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// What a verified entry says: when it was logged and its body (canonical JSON).
pub struct Entry {
    pub integrated_time: i64,
    pub body: Value,
}

fn int(v: &Value, what: &str) -> Result<i64> {
    // protobuf JSON writes int64 as strings; a missing field is 0.
    match v {
        Value::Null => Ok(0),
        Value::String(s) => s.parse().map_err(|_| Error::msg(format!("{what}: {s:?}"))),
        Value::Number(n) => n.as_i64().ok_or_else(|| Error::msg(format!("{what}: {n}"))),
        _ => Err(Error::msg(format!("{what}: not an integer"))),
    }
}

/// Checks one `tlogEntries[]` item of a bundle against a log of the trusted root: its SET
/// (required) and its inclusion proof when present.
pub fn verify_entry(e: &Value, root: &TrustedRoot) -> Result<Entry> {
    let log_id = b64(&e["logId"]["keyId"], "tlog entry logId")?;
    let body_raw = b64(&e["canonicalizedBody"], "tlog entry canonicalizedBody")?;
    let t = int(&e["integratedTime"], "tlog entry integratedTime")?;
    let index = int(&e["logIndex"], "tlog entry logIndex")?;
    let log = root
        .logs
        .iter()
        .find(|l| l.log_id == log_id)
        .ok_or_else(|| {
            Error::msg("transparency log entry is from a log the trusted root does not name")
        })?;
    if !log.valid.contains(t) {
        return Err(Error::msg(
            "transparency log key was not valid at the entry's integrated time",
        ));
    }
    let key = Key::from_spki(&log.key_der)?;
    let set = &e["inclusionPromise"]["signedEntryTimestamp"];
    let proof = &e["inclusionProof"];
    if set.is_null() && proof.is_null() {
        return Err(Error::msg(
            "transparency log entry has neither a signed entry timestamp nor an inclusion proof",
        ));
    }
    if !set.is_null() {
        let sig = b64(set, "signedEntryTimestamp")?;
        // Rekor signs the canonical JSON (sorted keys, no spaces) of these four fields.
        let signed = json!({
            "body": e["canonicalizedBody"],
            "integratedTime": t,
            "logID": hex(&log_id),
            "logIndex": index,
        });
        let bytes = serde_json::to_vec(&signed).map_err(|e| Error::msg(e.to_string()))?;
        if !key.verify(Hash::Sha256, &bytes, &sig) {
            return Err(Error::msg(
                "transparency log signed entry timestamp does not verify with the log's key",
            ));
        }
    }
    if !proof.is_null() {
        inclusion(proof, &body_raw, &key, &log_id)?;
    }
    // A checkpoint signs the tree, not the entry's time: only the SET vouches for the
    // integrated time that the certificate's validity is checked at.
    if set.is_null() {
        return Err(Error::msg(
            "transparency log entry has no signed entry timestamp, so its time is not vouched for (RFC 3161 timestamps are not supported)",
        ));
    }
    let body = serde_json::from_slice(&body_raw)
        .map_err(|_| Error::msg("transparency log entry body is not JSON"))?;
    Ok(Entry {
        integrated_time: t,
        body,
    })
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn node(l: &[u8], r: &[u8]) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(l);
    h.update(r);
    h.finalize().to_vec()
}

/// RFC 9162 2.1.3.2: the root an audit path leads to from leaf `index` of a tree of `size`.
pub fn root_from_path(index: u64, size: u64, leaf: &[u8], path: &[Vec<u8>]) -> Option<Vec<u8>> {
    if index >= size {
        return None;
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = leaf.to_vec();
    for p in path {
        if snode == 0 {
            return None;
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    (snode == 0).then_some(r)
}

fn inclusion(p: &Value, body: &[u8], key: &Key, log_id: &[u8]) -> Result<()> {
    let index = int(&p["logIndex"], "inclusionProof logIndex")? as u64;
    let size = int(&p["treeSize"], "inclusionProof treeSize")? as u64;
    let root_hash = b64(&p["rootHash"], "inclusionProof rootHash")?;
    let path = p["hashes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| b64(h, "inclusionProof hashes"))
        .collect::<Result<Vec<_>>>()?;
    let mut leaf = Sha256::new();
    leaf.update([0u8]);
    leaf.update(body);
    let leaf = leaf.finalize();
    if root_from_path(index, size, &leaf, &path).as_deref() != Some(&root_hash[..]) {
        return Err(Error::msg(
            "transparency log inclusion proof does not lead to its root hash",
        ));
    }
    let cp = p["checkpoint"]["envelope"]
        .as_str()
        .ok_or_else(|| Error::msg("transparency log inclusion proof has no signed checkpoint"))?;
    checkpoint(cp, size, &root_hash, key, log_id)
}

/// A signed note (`origin\nsize\nbase64 root\n[other lines]\n\n— name base64(hint+sig)\n`):
/// its size and root hash must be the proof's, one signature must be the log key's.
fn checkpoint(cp: &str, size: u64, root_hash: &[u8], key: &Key, log_id: &[u8]) -> Result<()> {
    let bad = |why: &str| Error::msg(format!("transparency log checkpoint: {why}"));
    let (text, sigs) = cp
        .split_once("\n\n")
        .ok_or_else(|| bad("not a signed note"))?;
    let note = format!("{text}\n");
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() < 3 {
        return Err(bad("too few lines"));
    }
    if lines[1].parse::<u64>().ok() != Some(size) {
        return Err(bad("tree size differs from the inclusion proof's"));
    }
    let cp_root = base64::engine::general_purpose::STANDARD
        .decode(lines[2])
        .map_err(|_| bad("root hash is not base64"))?;
    if cp_root != root_hash {
        return Err(bad("root hash differs from the inclusion proof's"));
    }
    for line in sigs.lines() {
        let Some(rest) = line.strip_prefix("\u{2014} ") else {
            continue;
        };
        let Some((_, sig)) = rest.rsplit_once(' ') else {
            continue;
        };
        let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(sig) else {
            continue;
        };
        if raw.len() > 4
            && raw[..4] == log_id[..4.min(log_id.len())]
            && key.verify(Hash::Sha256, note.as_bytes(), &raw[4..])
        {
            return Ok(());
        }
    }
    Err(bad("no signature by the trusted log's key"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(b: u8) -> Vec<u8> {
        let mut h = Sha256::new();
        h.update([0u8, b]);
        h.finalize().to_vec()
    }

    #[test]
    fn audit_paths_of_a_five_leaf_tree() {
        let l: Vec<Vec<u8>> = (0..5).map(leaf).collect();
        let (n01, n23) = (node(&l[0], &l[1]), node(&l[2], &l[3]));
        let n0123 = node(&n01, &n23);
        let root = node(&n0123, &l[4]);
        assert_eq!(
            root_from_path(2, 5, &l[2], &[l[3].clone(), n01.clone(), l[4].clone()]),
            Some(root.clone())
        );
        assert_eq!(
            root_from_path(4, 5, &l[4], std::slice::from_ref(&n0123)),
            Some(root.clone())
        );
        assert_ne!(
            root_from_path(3, 5, &l[2], &[l[3].clone(), n01, l[4].clone()]),
            Some(root.clone())
        );
        assert_eq!(root_from_path(5, 5, &l[4], &[n0123]), None);
        assert_eq!(root_from_path(0, 1, &l[0], &[]), Some(l[0].clone()));
    }
}
