//! The OCI documents: descriptors, platforms, manifests, indexes, configs. Each struct
//! names the fields this tool reads or writes and keeps every other field in `extra`
//! (`#[serde(flatten)]`), so a `--base` image's config or manifest survives a round trip.
//! Own types rather than the `oci-spec` crate: oci-spec drops unknown fields and keeps
//! annotations in a HashMap (key order varies, so digests would too).
//! Documents are written with sorted keys ([`to_json`]): deterministic bytes.

use crate::error::{Error, Result};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

pub const MT_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const MT_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const MT_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const MT_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
pub const MT_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const MT_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// Marks the layer holding the model card (README.md).
pub const ANN_MODELCARD: &str = "io.github.modelcar-base.modelcard";
/// olot's manifest annotation naming the model card layer; set too, for tools that read it.
pub const ANN_OLOT_MODELCARD: &str = "io.opendatahub.layers.modelcard";
pub const ANN_TITLE: &str = "org.opencontainers.image.title";
pub const ANN_CREATED: &str = "org.opencontainers.image.created";
/// The tag of an entry in a layout's index.json.
pub const ANN_REF_NAME: &str = "org.opencontainers.image.ref.name";
pub const ANN_BASE_DIGEST: &str = "org.opencontainers.image.base.digest";

/// Fields this tool does not model, kept as read so a document survives a round trip.
pub type Extra = Map<String, Value>;

/// Serializes `v` with sorted keys (through `Value`, whose map is a BTreeMap here): the same
/// document always gives the same bytes, hence the same digest.
pub fn to_json<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    serde_json::to_value(v)
        .and_then(|v| serde_json::to_vec(&v))
        .map_err(|e| Error::msg(format!("cannot serialize JSON: {e}")))
}

/// Parses `bytes` as a `T`, naming `what` (a digest or a file) in the error.
pub fn from_json<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| Error::msg(format!("{what}: invalid JSON: {e}")))
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// os.version, os.features, ...
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// urls, data, ...
    #[serde(flatten)]
    pub extra: Extra,
}

impl Descriptor {
    pub fn new(media_type: &str, digest: &str, size: u64) -> Self {
        Descriptor {
            media_type: media_type.to_string(),
            digest: digest.to_string(),
            size,
            platform: None,
            artifact_type: None,
            annotations: BTreeMap::new(),
            extra: Extra::new(),
        }
    }

    /// The `org.opencontainers.image.ref.name` annotation (a tag, in index.json).
    pub fn ref_name(&self) -> Option<&str> {
        self.annotations.get(ANN_REF_NAME).map(String::as_str)
    }

    /// An image index or a Docker manifest list (as opposed to one platform's manifest).
    pub fn is_index(&self) -> bool {
        self.media_type == MT_INDEX || self.media_type == DOCKER_LIST
    }
}

/// An image manifest (one platform: config + layers).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    pub config: Descriptor,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Manifest {
    pub fn new(config: Descriptor, layers: Vec<Descriptor>) -> Self {
        Manifest {
            schema_version: 2,
            media_type: Some(MT_MANIFEST.to_string()),
            artifact_type: None,
            config,
            layers,
            subject: None,
            annotations: BTreeMap::new(),
            extra: Extra::new(),
        }
    }
}

/// An image index: a blob, or a layout's index.json.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Index {
    pub fn new(manifests: Vec<Descriptor>) -> Self {
        Index {
            schema_version: 2,
            media_type: Some(MT_INDEX.to_string()),
            artifact_type: None,
            manifests,
            subject: None,
            annotations: BTreeMap::new(),
            extra: Extra::new(),
        }
    }
}

/// An image config. Docker's extra fields (container_config, docker_version, ...) are kept.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ImageConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<RunConfig>,
    pub rootfs: RootFs,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<History>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The execution parameters of an image config (its `config` object).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct RunConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RootFs {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub diff_ids: Vec<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct History {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// author, comment, empty_layer
    #[serde(flatten)]
    pub extra: Extra,
}

/// A layout's `oci-layout` file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LayoutFile {
    pub image_layout_version: String,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A repository name as `--push` and the image readers accept it: `/`-separated non-empty
/// components of lower-case letters, digits, '.', '_' and '-'.
pub fn is_repo_name(repo: &str) -> bool {
    !repo.is_empty()
        && repo.split('/').all(|c| {
            !c.is_empty()
                && c.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        })
}

/// OCI distribution's tag grammar: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
pub fn check_tag(tag: &str) -> Result<()> {
    let b = tag.as_bytes();
    let ok = |c: &u8| c.is_ascii_alphanumeric() || b"._-".contains(c);
    if b.is_empty() {
        Err(Error::msg("empty tag"))
    } else if b.len() > 128 {
        Err(Error::msg(format!(
            "tag of {} characters (at most 128)",
            b.len()
        )))
    } else if !(b[0].is_ascii_alphanumeric() || b[0] == b'_') || !b.iter().all(ok) {
        Err(Error::msg(format!(
            "invalid tag {tag:?} (letters, digits, '_', '.', '-'; not starting with '.' or '-')"
        )))
    } else {
        Ok(())
    }
}

/// RFC 3339 UTC for a Unix time (no chrono needed for one format).
pub fn rfc3339(t: u64) -> String {
    let days = (t / 86400) as i64;
    let secs = t % 86400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Parses `doc` as a `T` and writes it back: every field, known or not, must survive.
    fn round_trip<T: Serialize + DeserializeOwned>(doc: Value) -> T {
        let bytes = serde_json::to_vec(&doc).unwrap();
        let typed: T = from_json(&bytes, "test").unwrap();
        let back: Value = serde_json::from_slice(&to_json(&typed).unwrap()).unwrap();
        assert_eq!(back, doc);
        typed
    }

    #[test]
    fn manifest_keeps_unknown_fields() {
        let m: Manifest = round_trip(json!({
            "schemaVersion": 2,
            "mediaType": MT_MANIFEST,
            "artifactType": "application/vnd.example+type",
            "config": {"mediaType": MT_CONFIG, "digest": "sha256:aa", "size": 7,
                       "data": "e30=", "x-future": {"nested": [1, 2]}},
            "layers": [{"mediaType": MT_LAYER_GZIP, "digest": "sha256:bb", "size": 123,
                        "urls": ["https://example.com/l"],
                        "annotations": {"org.opencontainers.image.title": "w.bin"}}],
            "subject": {"mediaType": MT_MANIFEST, "digest": "sha256:cc", "size": 9},
            "annotations": {"a": "b"},
            "x-unknown-top": true,
        }));
        assert_eq!(m.config.digest, "sha256:aa");
        assert_eq!(m.layers[0].size, 123);
        assert_eq!(m.subject.unwrap().digest, "sha256:cc");
        assert!(m.extra.contains_key("x-unknown-top"));
    }

    #[test]
    fn index_keeps_unknown_fields() {
        let i: Index = round_trip(json!({
            "schemaVersion": 2,
            "mediaType": MT_INDEX,
            "manifests": [
                {"mediaType": MT_MANIFEST, "digest": "sha256:aa", "size": 1,
                 "platform": {"architecture": "arm64", "os": "linux", "variant": "v8",
                              "os.version": "1", "os.features": ["f"]},
                 "annotations": {ANN_REF_NAME: "v1"}},
                {"mediaType": MT_MANIFEST, "digest": "sha256:bb", "size": 2,
                 "platform": {"architecture": "unknown", "os": "unknown"}},
            ],
            "annotations": {ANN_TITLE: "t"},
            "x-extension": "kept",
        }));
        assert_eq!(i.manifests[0].ref_name(), Some("v1"));
        let p = i.manifests[0].platform.as_ref().unwrap();
        assert_eq!(p.variant.as_deref(), Some("v8"));
        assert_eq!(p.extra["os.version"], json!("1"));
    }

    #[test]
    fn docker_config_keeps_unknown_fields() {
        // As written by docker build: fields OCI does not name, nulls among them.
        let c: ImageConfig = round_trip(json!({
            "architecture": "amd64",
            "os": "linux",
            "created": "2024-01-01T00:00:00Z",
            "docker_version": "24.0.7",
            "container": "abc",
            "container_config": {"Hostname": "", "Cmd": null},
            "config": {"Env": ["PATH=/usr/bin"], "Cmd": ["sh"], "WorkingDir": "/",
                       "User": "1000", "Labels": {"k": "v"}, "Volumes": null,
                       "ExposedPorts": {"80/tcp": {}}, "StopSignal": "SIGTERM",
                       "Healthcheck": {"Test": ["NONE"]}},
            "rootfs": {"type": "layers", "diff_ids": ["sha256:aa", "sha256:bb"]},
            "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "RUN x",
                         "empty_layer": true, "comment": "c"},
                        {"created_by": "COPY y"}],
        }));
        assert_eq!(c.rootfs.diff_ids.len(), 2);
        let rc = c.config.unwrap();
        assert_eq!(rc.user.as_deref(), Some("1000"));
        assert!(rc.extra.contains_key("Healthcheck"));
        assert_eq!(c.history[0].extra["empty_layer"], json!(true));
    }

    #[test]
    fn written_with_sorted_keys() {
        let d = Descriptor::new(MT_LAYER, "sha256:aa", 1);
        assert_eq!(
            to_json(&d).unwrap(),
            br#"{"digest":"sha256:aa","mediaType":"application/vnd.oci.image.layer.v1.tar","size":1}"#
        );
    }

    #[test]
    fn tags() {
        for ok in ["v1", "latest", "_x", "1.0-rc_2", &"a".repeat(128)] {
            assert!(check_tag(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".x", "-x", "a/b", "a:b", "a b", "ä", &"a".repeat(129)] {
            assert!(check_tag(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_json_names_the_document() {
        let e = from_json::<Manifest>(b"{\"schemaVersion\": 2}", "sha256:aa").unwrap_err();
        assert!(e
            .to_string()
            .starts_with("sha256:aa: invalid JSON: missing field `config`"));
    }

    #[test]
    fn rfc3339_dates() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(super::rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
