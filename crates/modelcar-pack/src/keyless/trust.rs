//! A sigstore trusted root (`trusted_root.json`, the protobuf-specs `TrustedRoot` in JSON):
//! the Fulcio certificate authorities and the transparency logs' keys, each with the time
//! window in which it may be used. Read from a file: nothing is fetched (no TUF).

use crate::error::{Context, Error, Result};
use base64::Engine;
use serde_json::Value;

pub struct Window {
    pub start: Option<i64>,
    pub end: Option<i64>,
}

impl Window {
    pub fn contains(&self, t: i64) -> bool {
        self.start.is_none_or(|s| s <= t) && self.end.is_none_or(|e| t <= e)
    }
}

/// A certificate authority: its chain, the issuing certificate first, the root last.
pub struct Authority {
    pub chain: Vec<Vec<u8>>,
    pub valid: Window,
}

/// A transparency log: its key (SPKI DER) and log ID (the SHA-256 of that key).
pub struct Log {
    pub key_der: Vec<u8>,
    pub log_id: Vec<u8>,
    pub valid: Window,
}

pub struct TrustedRoot {
    pub authorities: Vec<Authority>,
    pub logs: Vec<Log>,
    /// Certificate transparency logs, whose SCTs Fulcio embeds in its certificates.
    pub ct_logs: Vec<Log>,
}

pub fn b64(v: &Value, what: &str) -> Result<Vec<u8>> {
    let s = v
        .as_str()
        .ok_or_else(|| Error::msg(format!("{what}: missing")))?;
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .map_err(|_| Error::msg(format!("{what}: not base64")))
}

/// RFC 3339 (`2024-01-02T03:04:05Z`, fractions and offsets allowed) as Unix seconds.
pub fn rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &s[19..];
    if let Some(r) = rest.strip_prefix('.') {
        rest = r.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let offset = match rest {
        "Z" | "z" => 0,
        o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) => {
            let m = o[1..3].parse::<i64>().ok()? * 60 + o[4..6].parse::<i64>().ok()?;
            if o.starts_with('-') {
                -m * 60
            } else {
                m * 60
            }
        }
        _ => return None,
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * (mo + if mo > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    Some(days * 86400 + h * 3600 + mi * 60 + sec - offset)
}

fn window(v: &Value, what: &str) -> Result<Window> {
    let t = |k: &str| -> Result<Option<i64>> {
        match v[k].as_str() {
            None => Ok(None),
            Some(s) => rfc3339(s)
                .map(Some)
                .ok_or_else(|| Error::msg(format!("{what}: validFor.{k} {s:?} is not RFC 3339"))),
        }
    };
    Ok(Window {
        start: t("start")?,
        end: t("end")?,
    })
}

impl TrustedRoot {
    pub fn load(path: &str) -> Result<TrustedRoot> {
        let text = std::fs::read(path).ctx(|| format!("trusted root {path}"))?;
        if text.starts_with(b"-----BEGIN") {
            return Err(Error::msg(format!(
                "trusted root {path}: is PEM; keyless verification needs a sigstore trusted_root.json, which also holds the transparency log's key"
            )));
        }
        let v: Value = serde_json::from_slice(&text)
            .map_err(|e| Error::msg(format!("trusted root {path}: not JSON: {e}")))?;
        Self::parse(&v).map_err(|e| Error::msg(format!("trusted root {path}: {e}")))
    }

    pub fn parse(v: &Value) -> Result<TrustedRoot> {
        let mt = v["mediaType"].as_str().unwrap_or("");
        if !mt.starts_with("application/vnd.dev.sigstore.trustedroot") {
            return Err(Error::msg(format!(
                "mediaType {mt:?} is not a sigstore trusted root"
            )));
        }
        let mut authorities = Vec::new();
        for (i, ca) in v["certificateAuthorities"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let what = format!("certificateAuthorities[{i}]");
            let chain = ca["certChain"]["certificates"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| b64(&c["rawBytes"], &what))
                .collect::<Result<Vec<_>>>()?;
            if chain.is_empty() {
                return Err(Error::msg(format!("{what}: no certificates")));
            }
            authorities.push(Authority {
                chain,
                valid: window(&ca["validFor"], &what)?,
            });
        }
        let logs = Self::logs(v, "tlogs")?;
        let ct_logs = Self::logs(v, "ctlogs")?;
        if authorities.is_empty() {
            return Err(Error::msg("no certificateAuthorities (Fulcio roots)"));
        }
        if logs.is_empty() {
            return Err(Error::msg("no tlogs (Rekor keys)"));
        }
        Ok(TrustedRoot {
            authorities,
            logs,
            ct_logs,
        })
    }

    fn logs(v: &Value, field: &str) -> Result<Vec<Log>> {
        let mut logs = Vec::new();
        for (i, t) in v[field].as_array().into_iter().flatten().enumerate() {
            let what = format!("{field}[{i}]");
            logs.push(Log {
                key_der: b64(&t["publicKey"]["rawBytes"], &format!("{what}.publicKey"))?,
                log_id: b64(&t["logId"]["keyId"], &format!("{what}.logId"))?,
                valid: window(&t["publicKey"]["validFor"], &what)?,
            });
        }
        Ok(logs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times() {
        assert_eq!(rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(rfc3339("2021-03-07T03:20:29.000Z"), Some(1615087229));
        assert_eq!(rfc3339("2021-03-07T04:20:29+01:00"), Some(1615087229));
        assert_eq!(rfc3339("2021-03-07"), None);
    }
}
