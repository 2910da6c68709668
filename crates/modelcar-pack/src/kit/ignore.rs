//! `.kitignore`: kit's ignore file, in the syntax of `.dockerignore` (moby's patternmatcher):
//! one pattern a line, `#` comments, `*` and `?` within a path segment, `**` across
//! segments, `!` to include again; the last pattern that matches a path, or one of its
//! parent directories, decides.

use crate::error::{Error, Result};
use std::path::Path;

pub struct Ignore {
    /// (segments of the pattern, excluded?): excluded is false for `!` lines.
    rules: Vec<(Vec<String>, bool)>,
}

impl Ignore {
    /// Reads DIR/.kitignore (none: nothing ignored).
    pub fn load(dir: &Path) -> Result<Ignore> {
        let p = dir.join(".kitignore");
        let text = match std::fs::read_to_string(&p) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(Error::msg(format!("{}: {e}", p.display()))),
        };
        Ok(Ignore::parse(&text))
    }

    pub fn parse(text: &str) -> Ignore {
        let mut rules = Vec::new();
        for line in text.lines() {
            let l = line.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let (pat, excluded) = match l.strip_prefix('!') {
                Some(p) => (p.trim(), false),
                None => (l, true),
            };
            let clean = super::clean_path(pat.trim_start_matches('/')).unwrap_or_default();
            if clean.is_empty() {
                continue;
            }
            rules.push((clean.split('/').map(str::to_string).collect(), excluded));
        }
        Ignore { rules }
    }

    /// True if `rel` (relative to the context, '/'-separated) is ignored.
    pub fn ignored(&self, rel: &str) -> bool {
        let segs: Vec<&str> = rel.split('/').collect();
        let mut out = false;
        for (pat, excluded) in &self.rules {
            // The path or one of its parents.
            if (1..=segs.len()).any(|n| matches(pat, &segs[..n])) {
                out = *excluded;
            }
        }
        out
    }
}

fn matches(pat: &[String], path: &[&str]) -> bool {
    match pat.split_first() {
        None => path.is_empty(),
        Some((p, rest)) if p == "**" => (0..=path.len()).any(|i| matches(rest, &path[i..])),
        Some((p, rest)) => match path.split_first() {
            Some((s, prest)) => glob(p.as_bytes(), s.as_bytes()) && matches(rest, prest),
            None => false,
        },
    }
}

/// `*` and `?` within one segment; `\` escapes the next character.
fn glob(p: &[u8], s: &[u8]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|i| glob(rest, &s[i..])),
        Some((b'?', rest)) => !s.is_empty() && glob(rest, &s[1..]),
        Some((b'\\', rest)) if !rest.is_empty() => {
            s.first() == Some(&rest[0]) && glob(&rest[1..], &s[1..])
        }
        Some((c, rest)) => s.first() == Some(c) && glob(rest, &s[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerignore_rules() {
        let i = Ignore::parse("# comment\n*.tmp\nweights/**/*.bak\ncache\n!cache/keep\n/abs\n");
        assert!(i.ignored("a.tmp"));
        assert!(!i.ignored("dir/a.tmp"), "* stays within a segment");
        assert!(i.ignored("weights/x/y/z.bak") && i.ignored("weights/z.bak"));
        assert!(
            i.ignored("cache") && i.ignored("cache/x/y"),
            "parents count"
        );
        assert!(!i.ignored("cache/keep"), "! includes again");
        assert!(i.ignored("abs/f"));
        assert!(!i.ignored("weights/model.bin"));
        assert!(Ignore::parse("").rules.is_empty());
        assert!(Ignore::parse("d?t\\*").ignored("dat*"));
    }
}
