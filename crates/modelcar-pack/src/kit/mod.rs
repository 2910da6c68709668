//! KitOps Kitfiles: the YAML model of kitops-ml/kitops `pkg/artifact/kitfile.go` (unknown
//! fields refused, as kit does), checked against a context directory, and the list of
//! entries in the order `kit pack` writes their layers (model, parts, code, datasets, docs).

pub mod filter;
pub mod input;
pub mod write;

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Component, Path, PathBuf};

/// Names `kit` looks for in a context directory, in its order.
pub const DEFAULT_NAMES: [&str; 3] = ["Kitfile", "kitfile", ".kitfile"];
/// Never packed into a layer (kit ignores them too).
pub const IGNORED: [&str; 4] = ["Kitfile", "kitfile", ".kitfile", ".kitignore"];
/// manifestVersion values kit writes or documents ("1.0" is YAML's float 1.0 written back).
const VERSIONS: [&str; 3] = ["1.0.0", "1.0", "1"];

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Kitfile {
    #[serde(default, deserialize_with = "scalar")]
    pub manifest_version: String,
    #[serde(default, skip_serializing_if = "Package::is_empty")]
    pub package: Package,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<Model>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub code: Vec<Code>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub datasets: Vec<Dataset>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub docs: Vec<Docs>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Package {
    #[serde(
        default,
        deserialize_with = "scalar",
        skip_serializing_if = "String::is_empty"
    )]
    pub name: String,
    #[serde(
        default,
        deserialize_with = "scalar",
        skip_serializing_if = "String::is_empty"
    )]
    pub version: String,
    #[serde(
        default,
        deserialize_with = "scalar",
        skip_serializing_if = "String::is_empty"
    )]
    pub description: String,
    #[serde(
        default,
        deserialize_with = "scalar",
        skip_serializing_if = "String::is_empty"
    )]
    pub license: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authors: Vec<String>,
}

impl Package {
    fn is_empty(&self) -> bool {
        *self == Package::default()
    }
}

/// Digest and diffId of an entry's layer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LayerInfo {
    pub digest: String,
    pub diff_id: String,
}

macro_rules! entry {
    ($name:ident { $($field:ident),* } $(, $extra:ident : $ty:ty)*) => {
        #[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $(
                #[serde(default, deserialize_with = "scalar", skip_serializing_if = "String::is_empty")]
                pub $field: String,
            )*
            $(
                #[serde(default, skip_serializing_if = "is_default")]
                pub $extra: $ty,
            )*
            /// The entry's layer: in ModelKit configs only (kit writes it there, not in YAML).
            #[serde(default, skip_serializing_if = "String::is_empty")]
            pub digest: String,
            #[serde(default, rename = "diffId", skip_serializing_if = "String::is_empty")]
            pub diff_id: String,
        }
    };
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

entry!(Model { name, path, license, framework, format, version, description },
    parts: Vec<ModelPart>, parameters: Option<serde_json::Value>);
entry!(ModelPart {
    name,
    path,
    license,
    r#type
});
entry!(Code {
    path,
    description,
    license
});
entry!(Dataset { name, path, description, license }, parameters: Option<serde_json::Value>);
entry!(Docs { path, description });

/// A YAML scalar of any type as its text: `version: 1.0` is the string "1.0", as in kit
/// (Go's yaml.v3 decodes any scalar into a string field).
fn scalar<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    use serde::de::Error as _;
    match serde_yaml::Value::deserialize(d)? {
        serde_yaml::Value::String(s) => Ok(s),
        serde_yaml::Value::Number(n) => Ok(n.to_string()),
        serde_yaml::Value::Bool(b) => Ok(b.to_string()),
        serde_yaml::Value::Null => Ok(String::new()),
        _ => Err(D::Error::custom("expected a string")),
    }
}

/// What a Kitfile entry is; also the `type` of kit's `--filter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Model,
    ModelPart,
    Code,
    Dataset,
    Docs,
}

impl Kind {
    /// kit's media-type base type (`application/vnd.kitops.modelkit.<base>.v1.tar`).
    pub fn kit_base(self) -> &'static str {
        match self {
            Kind::Model => "model",
            Kind::ModelPart => "modelpart",
            Kind::Code => "code",
            Kind::Dataset => "dataset",
            Kind::Docs => "docs",
        }
    }
}

/// One Kitfile entry that becomes a layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub kind: Kind,
    /// Name (model, part, dataset); code and docs have none.
    pub name: String,
    /// As written in the Kitfile, cleaned: "" is the context directory itself.
    pub path: String,
    /// The Kitfile field, for messages ("datasets[1].path").
    pub field: String,
}

impl Kitfile {
    /// Parses YAML (or JSON, which is YAML); `origin` names the file in messages.
    pub fn parse(text: &str, origin: &str) -> Result<Kitfile> {
        let kf: Kitfile = serde_yaml::from_str(text).map_err(|e| {
            // serde_yaml's message already says where ("at line 3 column 5"); one line.
            Error::msg(format!(
                "{origin}: invalid Kitfile: {}",
                e.to_string().replace('\n', " ")
            ))
        })?;
        if !kf.manifest_version.is_empty() && !VERSIONS.contains(&kf.manifest_version.as_str()) {
            return Err(Error::msg(format!(
                "{origin}: manifestVersion: unknown version {:?} (this tool reads 1.0.0)",
                kf.manifest_version
            )));
        }
        Ok(kf)
    }

    /// Every entry in kit's layer order, paths cleaned; an absolute or escaping path, or
    /// two entries with one path, is an error naming the field.
    pub fn entries(&self, origin: &str) -> Result<Vec<Entry>> {
        let mut out = Vec::new();
        let mut add = |kind, name: &str, path: &str, field: String| -> Result<()> {
            let clean = clean_path(path)
                .map_err(|why| Error::msg(format!("{origin}: {field}: {path:?} {why}")))?;
            out.push(Entry {
                kind,
                name: name.to_string(),
                path: clean,
                field,
            });
            Ok(())
        };
        if let Some(m) = &self.model {
            if !m.path.is_empty() {
                add(Kind::Model, &m.name, &m.path, "model.path".into())?;
            }
            for (i, p) in m.parts.iter().enumerate() {
                add(
                    Kind::ModelPart,
                    &p.name,
                    &p.path,
                    format!("model.parts[{i}].path"),
                )?;
            }
        }
        for (i, c) in self.code.iter().enumerate() {
            add(Kind::Code, "", &c.path, format!("code[{i}].path"))?;
        }
        for (i, d) in self.datasets.iter().enumerate() {
            add(
                Kind::Dataset,
                &d.name,
                &d.path,
                format!("datasets[{i}].path"),
            )?;
        }
        for (i, d) in self.docs.iter().enumerate() {
            add(Kind::Docs, "", &d.path, format!("docs[{i}].path"))?;
        }
        for (i, a) in out.iter().enumerate() {
            if let Some(b) = out[..i].iter().find(|b| b.path == a.path) {
                return Err(Error::msg(format!(
                    "{origin}: {} and {} use the same path {:?}",
                    b.field,
                    a.field,
                    if a.path.is_empty() { "." } else { &a.path }
                )));
            }
        }
        Ok(out)
    }

    /// Writes digest/diffId of each entry's layer (entries in [`Self::entries`] order).
    pub fn set_layer_info(&mut self, infos: &[LayerInfo]) {
        let mut it = infos.iter().cloned();
        let mut set = |digest: &mut String, diff_id: &mut String| {
            let i = it.next().unwrap_or_default();
            *digest = i.digest;
            *diff_id = i.diff_id;
        };
        if let Some(m) = &mut self.model {
            if !m.path.is_empty() {
                set(&mut m.digest, &mut m.diff_id);
            }
            for p in &mut m.parts {
                set(&mut p.digest, &mut p.diff_id);
            }
        }
        for c in &mut self.code {
            set(&mut c.digest, &mut c.diff_id);
        }
        for d in &mut self.datasets {
            set(&mut d.digest, &mut d.diff_id);
        }
        for d in &mut self.docs {
            set(&mut d.digest, &mut d.diff_id);
        }
    }

    /// digest of each entry's layer, in [`Self::entries`] order ("" where none is recorded).
    pub fn layer_digests(&self) -> Vec<String> {
        let mut v = Vec::new();
        if let Some(m) = &self.model {
            if !m.path.is_empty() {
                v.push(m.digest.clone());
            }
            v.extend(m.parts.iter().map(|p| p.digest.clone()));
        }
        v.extend(self.code.iter().map(|c| c.digest.clone()));
        v.extend(self.datasets.iter().map(|c| c.digest.clone()));
        v.extend(self.docs.iter().map(|c| c.digest.clone()));
        v
    }

    /// Entry paths as written in the Kitfile, in [`Self::entries`] order (kit's filters
    /// compare those).
    pub fn raw_paths(&self) -> Vec<String> {
        let mut v = Vec::new();
        if let Some(m) = &self.model {
            if !m.path.is_empty() {
                v.push(m.path.clone());
            }
            v.extend(m.parts.iter().map(|p| p.path.clone()));
        }
        v.extend(self.code.iter().map(|c| c.path.clone()));
        v.extend(self.datasets.iter().map(|c| c.path.clone()));
        v.extend(self.docs.iter().map(|c| c.path.clone()));
        v
    }

    /// The OCI annotations users expect from the package section.
    pub fn annotations(&self) -> Vec<(&'static str, String)> {
        let p = &self.package;
        let mut v = Vec::new();
        for (k, val) in [
            ("org.opencontainers.image.title", &p.name),
            ("org.opencontainers.image.version", &p.version),
            ("org.opencontainers.image.description", &p.description),
            ("org.opencontainers.image.licenses", &p.license),
        ] {
            if !val.is_empty() {
                v.push((k, val.clone()));
            }
        }
        if !p.authors.is_empty() {
            v.push(("org.opencontainers.image.authors", p.authors.join(", ")));
        }
        v
    }
}

/// Finds the Kitfile of a context directory, as kit does.
pub fn find_in(dir: &Path) -> Option<PathBuf> {
    DEFAULT_NAMES
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

/// "./a//b/" -> "a/b"; "." -> "". Absolute paths and ".." that leave the context refused.
pub fn clean_path(p: &str) -> std::result::Result<String, &'static str> {
    if p.starts_with('/') {
        return Err("is absolute; Kitfile paths are relative to the context directory");
    }
    let mut parts: Vec<&str> = Vec::new();
    for c in Path::new(p).components() {
        match c {
            Component::CurDir => {}
            Component::Normal(s) => parts.push(s.to_str().ok_or("is not UTF-8")?),
            Component::ParentDir => {
                if parts.pop().is_none() {
                    return Err("leaves the context directory");
                }
            }
            _ => return Err("is absolute; Kitfile paths are relative to the context directory"),
        }
    }
    Ok(parts.join("/"))
}

/// True if `path` is `prefix` or below it ("" contains everything).
pub fn within(path: &str, prefix: &str) -> bool {
    prefix.is_empty()
        || path == prefix
        || (path.starts_with(prefix) && path.as_bytes().get(prefix.len()) == Some(&b'/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
manifestVersion: 1.0
package:
  name: AIProjectName
  version: 1.2.3
  description: >-
    A brief description of the AI/ML project.
  authors: [Author Name, Contributor Name]
code:
  - path: src/
    description: Source code for the AI models.
    license: Apache-2.0
datasets:
  - name: DatasetName
    path: data/dataset.csv
    description: Description of the dataset.
    license: CC-BY-4.0
model:
    name: ModelName
    path: models/model.h5
    framework: TensorFlow
    version: 1.0
    description: Model description.
    license: Apache-2.0
    parts:
      - path: lora/
        type: LoRA
    parameters:
      lr: 0.1
      layers: [1, 2]
"#;

    #[test]
    fn parses_kits_documented_example() {
        let kf = Kitfile::parse(EXAMPLE, "Kitfile").unwrap();
        assert_eq!(kf.manifest_version, "1.0");
        assert_eq!(kf.package.version, "1.2.3");
        assert_eq!(kf.package.authors, ["Author Name", "Contributor Name"]);
        let m = kf.model.as_ref().unwrap();
        assert_eq!(m.version, "1.0");
        assert_eq!(m.parts[0].r#type, "LoRA");
        assert_eq!(m.parameters.as_ref().unwrap()["layers"][1], 2);
        let e = kf.entries("Kitfile").unwrap();
        let got: Vec<(Kind, &str)> = e.iter().map(|e| (e.kind, e.path.as_str())).collect();
        assert_eq!(
            got,
            [
                (Kind::Model, "models/model.h5"),
                (Kind::ModelPart, "lora"),
                (Kind::Code, "src"),
                (Kind::Dataset, "data/dataset.csv"),
            ]
        );
        let ann = kf.annotations();
        assert!(ann.contains(&(
            "org.opencontainers.image.authors",
            "Author Name, Contributor Name".into()
        )));
    }

    #[test]
    fn errors_name_the_field() {
        let e = |y: &str| {
            Kitfile::parse(y, "K")
                .and_then(|k| k.entries("K"))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            e("manifestVersion: 2.0.0\n"),
            "K: manifestVersion: unknown version \"2.0.0\" (this tool reads 1.0.0)"
        );
        assert!(e("model:\n  path: ../x\n").starts_with("K: model.path: \"../x\" leaves"));
        assert!(e("docs:\n  - path: /etc\n").starts_with("K: docs[0].path: \"/etc\" is absolute"));
        assert!(
            e("model:\n  pth: x\n").contains("unknown field `pth`"),
            "{}",
            e("model:\n  pth: x\n")
        );
        let y = e("model: [\n");
        assert!(
            y.starts_with("K: invalid Kitfile: ") && !y.contains('\n'),
            "{y}"
        );
        assert_eq!(
            e("model:\n  path: a/\ncode:\n  - path: ./a\n"),
            "K: model.path and code[0].path use the same path \"a\""
        );
    }

    #[test]
    fn paths() {
        assert_eq!(clean_path("./a//b/").unwrap(), "a/b");
        assert_eq!(clean_path(".").unwrap(), "");
        assert_eq!(clean_path("a/../b").unwrap(), "b");
        assert!(clean_path("a/../../b").is_err());
        assert!(within("a/b", "a") && within("a", "a") && within("x", ""));
        assert!(!within("ab", "a"));
    }

    #[test]
    fn layer_info_round_trips_through_json() {
        let mut kf = Kitfile::parse(EXAMPLE, "K").unwrap();
        let infos: Vec<LayerInfo> = (0..4)
            .map(|i| LayerInfo {
                digest: format!("sha256:{i}"),
                diff_id: format!("sha256:d{i}"),
            })
            .collect();
        kf.set_layer_info(&infos);
        let j = serde_json::to_value(&kf).unwrap();
        assert_eq!(j["datasets"][0]["digest"], "sha256:3");
        assert_eq!(j["model"]["parts"][0]["diffId"], "sha256:d1");
        let back: Kitfile = serde_json::from_value(j).unwrap();
        assert_eq!(back, kf);
    }
}
