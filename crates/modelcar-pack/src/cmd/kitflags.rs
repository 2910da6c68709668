//! `kit unpack` flags given in the environment, as KitOps' images take them: the KServe
//! ClusterStorageContainer image's `KIT_UNPACK_FLAGS` and kit-init's `EXTRA_FLAGS` (both
//! split on whitespace, as their entrypoints' `read -a` does). What applies here is used;
//! flags with nothing to do here are named once in the log, never silently dropped.

use crate::error::{Error, Result};
use std::path::PathBuf;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct KitFlags {
    /// `--plain-http`, or `--tls-verify=false`.
    pub insecure: bool,
    /// `--filter`/`-f`.
    pub filters: Vec<String>,
    /// kit's deprecated `--kitfile`, `--model`, `--code`, `--datasets`, `--docs`, as one
    /// filter; kit lets them replace every `--filter`.
    pub deprecated: Option<String>,
    /// `--dir`/`-d`.
    pub dir: Option<PathBuf>,
    /// Flags understood but meaningless here, and flags not known at all.
    pub ignored: Vec<String>,
}

/// Flags of `kit unpack` that take a value.
fn takes_value(flag: &str) -> bool {
    matches!(
        flag,
        "-f" | "--filter" | "-d" | "--dir" | "--concurrency" | "--cert" | "--key" | "--proxy"
    )
}

pub fn parse(var: &str, value: &str) -> Result<KitFlags> {
    let mut out = KitFlags::default();
    let mut deprecated = Vec::new();
    let mut words = value.split_whitespace();
    while let Some(w) = words.next() {
        let (flag, inline) = match w.split_once('=') {
            Some((f, v)) if f.starts_with('-') => (f, Some(v.to_string())),
            _ => (w, None),
        };
        let value =
            if takes_value(flag) && inline.is_none() {
                Some(words.next().map(str::to_string).ok_or_else(|| {
                    Error::msg(format!("{var}: {flag} needs a value (in {value:?})"))
                })?)
            } else {
                inline
            };
        match (flag, value) {
            ("--plain-http", None) => out.insecure = true,
            ("--tls-verify", Some(v)) if v == "false" => out.insecure = true,
            ("-f" | "--filter", Some(v)) => out.filters.push(v),
            ("-d" | "--dir", Some(v)) => out.dir = Some(PathBuf::from(v)),
            ("--kitfile" | "--model" | "--code" | "--datasets" | "--docs", None) => {
                deprecated.push(&flag[2..])
            }
            _ => out.ignored.push(w.to_string()),
        }
    }
    if !deprecated.is_empty() {
        out.deprecated = Some(deprecated.join(","));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kit_unpack_flags() {
        let f = parse(
            "KIT_UNPACK_FLAGS",
            " -v --plain-http  --filter=model,docs -f datasets:train --dir /x -o",
        )
        .unwrap();
        assert!(f.insecure);
        assert_eq!(f.filters, ["model,docs", "datasets:train"]);
        assert_eq!(f.dir, Some(PathBuf::from("/x")));
        assert_eq!(f.ignored, ["-v", "-o"]);

        let f = parse(
            "EXTRA_FLAGS",
            "--ignore-existing --model --docs --tls-verify=false",
        )
        .unwrap();
        assert!(f.insecure);
        assert!(f.filters.is_empty());
        assert_eq!(f.deprecated.as_deref(), Some("model,docs"));
        assert_eq!(f.ignored, ["--ignore-existing"]);

        assert_eq!(parse("X", "").unwrap(), KitFlags::default());
        assert!(!parse("X", "--tls-verify=true").unwrap().insecure);
        let e = parse("KIT_UNPACK_FLAGS", "--filter")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("KIT_UNPACK_FLAGS: --filter needs a value"),
            "{e}"
        );
    }
}
