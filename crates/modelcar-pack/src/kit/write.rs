//! `--format modelkit|modelpack`: a KitOps ModelKit or a CNCF ModelPack from a Kitfile's
//! context, one uncompressed tar layer per Kitfile entry in kit's order, entries at their
//! paths relative to the context (as `kit pack` writes them), large files' data 4 KiB-aligned
//! so that converting to a modelcar can reflink it. The manifest is tagged on its own (no
//! image index: that is how kit stores and pushes them).

use super::input::KitInput;
use super::LayerInfo;
use crate::blobwriter::Compress;
use crate::error::{Error, Result};
use crate::formats::{self, Format, LayerType};
use crate::layers::{LayerPlan, Writer};
use crate::layout::Layout;
use crate::oci::{self, rfc3339, Descriptor, MT_MANIFEST};
use crate::walk::{Item, Tree};
use indicatif::ProgressBar;
use serde_json::{json, Map, Value};

pub struct Written {
    pub manifest: Descriptor,
}

pub fn write(
    input: &KitInput,
    format: Format,
    layout: &Layout,
    created: u64,
    small_max: u64,
    bar: &ProgressBar,
) -> Result<Written> {
    let mut w = Writer::new(layout, Compress::None, created, bar);
    w.prefix = "";
    let mut layers = Vec::new();
    let mut infos = Vec::new();
    for (e, tree) in &input.entries {
        let plan = LayerPlan {
            title: if e.path.is_empty() {
                ".".to_string()
            } else {
                e.path.clone()
            },
            entries: with_ancestors(tree, &e.path),
            modelcard: false,
            // Aligning costs up to 4 KiB per file: only where a file is large enough to
            // be worth reflinking later.
            align: tree
                .values()
                .any(|i| matches!(i, Item::File { size, .. } if *size >= small_max)),
        };
        let out = w.write(&plan)?;
        let mut d = out.desc;
        d.media_type = LayerType::media_type(format, e.kind);
        d.annotations.clear();
        if format == Format::ModelPack {
            d.annotations
                .insert(formats::MP_ANN_FILEPATH.to_string(), plan.title.clone());
        }
        infos.push(LayerInfo {
            digest: d.digest.clone(),
            diff_id: out.diff_id,
        });
        layers.push(d);
    }
    let mut kf = input.kitfile.clone();
    if kf.manifest_version.is_empty() {
        kf.manifest_version = "1.0.0".to_string();
    }
    kf.set_layer_info(&infos);
    let kf_json = serde_json::to_vec(&kf).map_err(|e| Error::msg(e.to_string()))?;
    let ts = rfc3339(created);
    let mut ann = Map::new();
    ann.insert(oci::ANN_CREATED.to_string(), json!(ts));
    for (k, v) in kf.annotations() {
        ann.insert(k.to_string(), json!(v));
    }
    let (config, artifact) = match format {
        Format::ModelKit => (layout.put_bytes(formats::KIT_CONFIG, &kf_json)?, None),
        Format::ModelPack => {
            ann.insert(
                formats::KIT_ANN_KITFILE.to_string(),
                json!(String::from_utf8_lossy(&kf_json)),
            );
            let cfg = modelpack_config(&kf, &infos, &ts);
            let bytes = serde_json::to_vec(&cfg).map_err(|e| Error::msg(e.to_string()))?;
            (
                layout.put_bytes(formats::MP_CONFIG, &bytes)?,
                Some(formats::MP_ARTIFACT),
            )
        }
    };
    let mut manifest = json!({
        "schemaVersion": 2,
        "mediaType": MT_MANIFEST,
        "config": config,
        "layers": layers,
        "annotations": ann,
    });
    if let Some(a) = artifact {
        manifest["artifactType"] = json!(a);
    }
    let bytes = serde_json::to_vec(&manifest).map_err(|e| Error::msg(e.to_string()))?;
    let mut desc = layout.put_bytes(MT_MANIFEST, &bytes)?;
    desc.artifact_type = artifact.map(str::to_string);
    Ok(Written { manifest: desc })
}

/// The ModelPack config (model-spec `docs/config.md`) from the Kitfile.
fn modelpack_config(kf: &super::Kitfile, infos: &[LayerInfo], created: &str) -> Value {
    let p = &kf.package;
    let m = kf.model.clone().unwrap_or_default();
    let mut d = Map::new();
    d.insert("createdAt".into(), json!(created));
    let name = if p.name.is_empty() { &m.name } else { &p.name };
    if !name.is_empty() {
        d.insert("name".into(), json!(name));
    }
    let version = if p.version.is_empty() {
        &m.version
    } else {
        &p.version
    };
    if !version.is_empty() {
        d.insert("version".into(), json!(version));
    }
    let desc = if p.description.is_empty() {
        &m.description
    } else {
        &p.description
    };
    if !desc.is_empty() {
        d.insert("description".into(), json!(desc));
    }
    if !p.authors.is_empty() {
        d.insert("authors".into(), json!(p.authors));
    }
    let license = if p.license.is_empty() {
        &m.license
    } else {
        &p.license
    };
    if !license.is_empty() {
        d.insert("licenses".into(), json!([license]));
    }
    let mut c = Map::new();
    if !m.format.is_empty() {
        c.insert("format".into(), json!(m.format));
    }
    json!({
        "descriptor": d,
        "config": c,
        "modelfs": {
            "type": "layers",
            "diffIds": infos.iter().map(|i| i.diff_id.clone()).collect::<Vec<_>>(),
        },
    })
}

/// The tree plus every directory above `path` (kit's tars have them: it walks from the
/// context directory down).
fn with_ancestors(tree: &Tree, path: &str) -> Tree {
    let mut t = tree.clone();
    let mut p = path;
    while !p.is_empty() {
        // A file entry's own path is in the tree already; only directories are added.
        t.entry(p.to_string()).or_insert(Item::Dir);
        p = p.rfind('/').map_or("", |i| &p[..i]);
    }
    let keys: Vec<String> = tree.keys().cloned().collect();
    for k in keys {
        let mut q = k.as_str();
        while let Some(i) = q.rfind('/') {
            q = &q[..i];
            t.entry(q.to_string()).or_insert(Item::Dir);
        }
    }
    t
}
