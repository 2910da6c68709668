//! kit's `--filter` syntax (kitops `pkg/cmd/unpack/filter.go`): `TYPE[,TYPE...][:ID[,ID...]]`
//! with TYPE one of kitfile, model, datasets, code, docs, and IDs matched against an entry's
//! name or path. Several `--filter`s add up. Model parts go with `model`. kit also takes its
//! media types' own names `config` (the Kitfile) and `dataset` (ParseKitBaseType), so do we.

use super::{Entry, Kind};
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    kinds: Vec<Kind>,
    /// The Kitfile itself (`kitfile`): put at /models/Kitfile, where kit unpack writes it.
    pub kitfile: bool,
    ids: Vec<String>,
}

impl Filter {
    pub fn parse(s: &str) -> Result<Filter> {
        let bad = |why: String| Error::msg(format!("--filter {s:?}: {why}"));
        let mut parts = s.split(':');
        let types = parts.next().unwrap_or("");
        let ids = parts.next();
        if parts.next().is_some() {
            return Err(bad(
                "should be in format <type1>,<type2>[:<filter1>,<filter2>]".into(),
            ));
        }
        let mut f = Filter {
            kinds: Vec::new(),
            kitfile: false,
            ids: Vec::new(),
        };
        for t in types.split(',') {
            match t {
                "kitfile" | "config" => f.kitfile = true,
                "model" => f.kinds.push(Kind::Model),
                "datasets" | "dataset" => f.kinds.push(Kind::Dataset),
                // kit parses it but then matches nothing with it.
                "modelpart" => {
                    return Err(bad(
                        "invalid filter type \"modelpart\" (model parts go with 'model')".into(),
                    ))
                }
                "code" => f.kinds.push(Kind::Code),
                "docs" => f.kinds.push(Kind::Docs),
                _ => {
                    return Err(bad(format!(
                        "invalid filter type {t:?} (must be one of 'kitfile', 'model', 'datasets', 'code', or 'docs')"
                    )))
                }
            }
        }
        if let Some(ids) = ids {
            f.ids = ids.split(',').map(str::to_string).collect();
        }
        Ok(f)
    }

    /// kit unpack's default when no filter is given is everything; modelcar-pack's default
    /// is what a server needs: the model (with its parts) and the docs.
    pub fn default_for_modelcar() -> Vec<Filter> {
        vec![Filter {
            kinds: vec![Kind::Model, Kind::Docs],
            kitfile: false,
            ids: Vec::new(),
        }]
    }

    fn matches_one(&self, kind: Kind, field: &str) -> bool {
        let kind = if kind == Kind::ModelPart {
            Kind::Model
        } else {
            kind
        };
        self.kinds.contains(&kind) && (self.ids.is_empty() || self.ids.iter().any(|i| i == field))
    }

    /// As kit: an entry matches by name or by path (as written in the Kitfile, so both
    /// the cleaned and the original spelling are tried by the caller's `raw` path).
    pub fn matches(&self, e: &Entry, raw_path: &str) -> bool {
        (!e.name.is_empty() && self.matches_one(e.kind, &e.name))
            || self.matches_one(e.kind, raw_path)
            || self.matches_one(e.kind, &e.path)
    }
}

/// True if any filter selects the entry.
pub fn selected(filters: &[Filter], e: &Entry, raw_path: &str) -> bool {
    filters.iter().any(|f| f.matches(e, raw_path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: Kind, name: &str, path: &str) -> Entry {
        Entry {
            kind,
            name: name.into(),
            path: path.into(),
            field: String::new(),
        }
    }

    #[test]
    fn kit_syntax() {
        let f = Filter::parse("model,docs").unwrap();
        assert!(f.matches(&entry(Kind::Model, "m", "w"), "w"));
        assert!(f.matches(&entry(Kind::ModelPart, "lora", "l"), "l"));
        assert!(f.matches(&entry(Kind::Docs, "", "README.md"), "README.md"));
        assert!(!f.matches(&entry(Kind::Dataset, "d", "data"), "data"));

        let f = Filter::parse("datasets:train,eval/").unwrap();
        assert!(f.matches(&entry(Kind::Dataset, "train", "t"), "t"));
        assert!(f.matches(&entry(Kind::Dataset, "x", "eval"), "eval/"));
        assert!(!f.matches(&entry(Kind::Dataset, "test", "t2"), "t2"));
        assert!(!f.matches(&entry(Kind::Model, "train", "m"), "m"));

        let f = Filter::parse("kitfile").unwrap();
        assert!(f.kitfile && !f.matches(&entry(Kind::Model, "", "m"), "m"));

        // kit's aliases (its media type names).
        assert_eq!(Filter::parse("config").unwrap(), f);
        assert_eq!(
            Filter::parse("dataset:train").unwrap(),
            Filter::parse("datasets:train").unwrap()
        );
    }

    #[test]
    fn bad_filters() {
        let e = |s| Filter::parse(s).unwrap_err().to_string();
        assert!(e("datasets,Model").contains("invalid filter type \"Model\""));
        assert!(e("model, docs").contains("invalid filter type \" docs\""));
        assert!(e("modelpart").contains("model parts go with 'model'"));
        assert!(e("model:a:b").contains("should be in format"));
        assert!(e("").contains("invalid filter type \"\""));
    }

    #[test]
    fn default_is_model_and_docs() {
        let d = Filter::default_for_modelcar();
        assert!(selected(&d, &entry(Kind::ModelPart, "", "p"), "p"));
        assert!(selected(&d, &entry(Kind::Docs, "", "d"), "d"));
        assert!(!selected(&d, &entry(Kind::Code, "", "c"), "c"));
    }
}
