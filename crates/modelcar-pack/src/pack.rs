//! Puts the model layers on every platform of a base (the embedded one, or `--base`) and
//! writes configs, manifests and the image index into the layout.

use crate::base;
use crate::error::{Context, Error, Result};
use crate::layers::Written;
use crate::layout::Layout;
use crate::oci::{self, rfc3339, Descriptor, Platform, MT_CONFIG, MT_INDEX, MT_MANIFEST};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// One platform image of the base before the model goes on.
pub struct BaseImage {
    pub platform: Platform,
    pub config: Value,
    pub layers: Vec<Descriptor>,
    pub manifest_annotations: BTreeMap<String, String>,
}

/// The embedded base: its layers are written into `layout` now.
pub fn embedded(layout: &Layout, created: u64) -> Result<Vec<BaseImage>> {
    let mut out = Vec::new();
    for (arch, bin) in base::SIDECARS {
        let tar = base::layer(bin, created);
        let desc = layout.put_bytes(oci::MT_LAYER, &tar)?;
        out.push(BaseImage {
            platform: base::platform(arch),
            config: base::config(arch, &desc.digest, created),
            layers: vec![desc],
            manifest_annotations: BTreeMap::new(),
        });
    }
    Ok(out)
}

/// Every platform image of `oci:DIR[:TAG]`; its layer blobs are copied into `layout` unless
/// it is the same folder.
pub fn from_layout(src: &Layout, tag: Option<&str>, layout: &Layout) -> Result<Vec<BaseImage>> {
    let top = src.resolve(tag)?;
    let mut manifests = Vec::new();
    if top.media_type == MT_INDEX || top.media_type == oci::DOCKER_LIST {
        let index: Value =
            serde_json::from_slice(&src.read_blob(&top.digest)?).ctx(|| top.digest.clone())?;
        for m in index["manifests"].as_array().cloned().unwrap_or_default() {
            let d: Descriptor = serde_json::from_value(m).ctx(|| "base index entry".to_string())?;
            // Attestation manifests (platform unknown/unknown) describe the old images: drop them.
            if d.platform.as_ref().is_some_and(|p| p.os == "unknown") {
                continue;
            }
            manifests.push(d);
        }
    } else {
        manifests.push(top);
    }
    let mut out = Vec::new();
    for d in manifests {
        let m: Value =
            serde_json::from_slice(&src.read_blob(&d.digest)?).ctx(|| d.digest.clone())?;
        let cfg_digest = m["config"]["digest"]
            .as_str()
            .ok_or_else(|| Error::msg(format!("{}: manifest without config", d.digest)))?;
        let config: Value =
            serde_json::from_slice(&src.read_blob(cfg_digest)?).ctx(|| cfg_digest.to_string())?;
        let mut layers = Vec::new();
        for l in m["layers"].as_array().cloned().unwrap_or_default() {
            let mut ld: Descriptor = serde_json::from_value(l).ctx(|| "base layer".to_string())?;
            ld.media_type = oci_layer_type(&ld.media_type);
            copy_blob(src, layout, &ld.digest)?;
            layers.push(ld);
        }
        let platform = d.platform.clone().unwrap_or(Platform {
            architecture: config["architecture"]
                .as_str()
                .unwrap_or("amd64")
                .to_string(),
            os: config["os"].as_str().unwrap_or("linux").to_string(),
            variant: config["variant"].as_str().map(str::to_string),
        });
        let mut manifest_annotations = BTreeMap::new();
        manifest_annotations.insert(
            "org.opencontainers.image.base.digest".to_string(),
            d.digest.clone(),
        );
        out.push(BaseImage {
            platform,
            config,
            layers,
            manifest_annotations,
        });
    }
    if out.is_empty() {
        return Err(Error::msg(format!(
            "{}: base holds no platform image",
            src.dir.display()
        )));
    }
    Ok(out)
}

/// Docker schema2 layer types mapped to their OCI names (the manifest we write is OCI).
fn oci_layer_type(t: &str) -> String {
    match t {
        "application/vnd.docker.image.rootfs.diff.tar.gzip" => oci::MT_LAYER_GZIP.to_string(),
        "application/vnd.docker.image.rootfs.diff.tar" => oci::MT_LAYER.to_string(),
        other => other.to_string(),
    }
}

fn copy_blob(src: &Layout, dst: &Layout, digest: &str) -> Result<()> {
    if dst.has_blob(digest) {
        return Ok(());
    }
    let from = src.blob_path(digest);
    let (f, tmp) = dst.temp()?;
    drop(f);
    // std::fs::copy uses copy_file_range: a reflink where the filesystem has them.
    std::fs::copy(&from, &tmp).ctx(|| format!("cannot copy {}", from.display()))?;
    dst.commit_temp(&tmp, digest)
}

pub struct Meta {
    pub created: u64,
    pub title: String,
    /// More manifest and index annotations (a Kitfile's package fields, a conversion's source).
    pub annotations: BTreeMap<String, String>,
}

/// Writes one config + manifest per platform and the index over them.
pub fn assemble(
    layout: &Layout,
    bases: Vec<BaseImage>,
    model: &[Written],
    meta: &Meta,
) -> Result<Descriptor> {
    let ts = rfc3339(meta.created);
    let mut entries = Vec::new();
    for b in bases {
        let mut config = b.config;
        let ids = config["rootfs"]["diff_ids"]
            .as_array_mut()
            .ok_or_else(|| Error::msg("base config has no rootfs.diff_ids"))?;
        ids.extend(model.iter().map(|w| json!(w.diff_id)));
        if !config["history"].is_array() {
            config["history"] = json!([]);
        }
        let hist = config["history"].as_array_mut().expect("array");
        hist.extend(
            model
                .iter()
                .map(|w| json!({"created": ts, "created_by": w.created_by})),
        );
        config["created"] = json!(ts);
        let cbytes = serde_json::to_vec(&config).map_err(|e| Error::msg(e.to_string()))?;
        let cdesc = layout.put_bytes(MT_CONFIG, &cbytes)?;

        let mut layers = b.layers;
        layers.extend(model.iter().map(|w| w.desc.clone()));
        let mut ann = b.manifest_annotations;
        ann.insert(oci::ANN_CREATED.to_string(), ts.clone());
        ann.extend(meta.annotations.clone());
        ann.insert(oci::ANN_TITLE.to_string(), meta.title.clone());
        if let Some(card) = model
            .iter()
            .find(|w| w.desc.annotations.contains_key(oci::ANN_MODELCARD))
        {
            ann.insert(
                oci::ANN_OLOT_MODELCARD.to_string(),
                card.desc.digest.clone(),
            );
        }
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": MT_MANIFEST,
            "config": cdesc,
            "layers": layers,
            "annotations": ann,
        });
        let mbytes = serde_json::to_vec(&manifest).map_err(|e| Error::msg(e.to_string()))?;
        let mut mdesc = layout.put_bytes(MT_MANIFEST, &mbytes)?;
        mdesc.platform = Some(b.platform);
        entries.push(mdesc);
    }
    let mut iann = meta.annotations.clone();
    iann.insert(oci::ANN_CREATED.to_string(), ts);
    iann.insert(oci::ANN_TITLE.to_string(), meta.title.clone());
    let index = json!({
        "schemaVersion": 2,
        "mediaType": MT_INDEX,
        "manifests": entries,
        "annotations": iann,
    });
    let ibytes = serde_json::to_vec(&index).map_err(|e| Error::msg(e.to_string()))?;
    layout.put_bytes(MT_INDEX, &ibytes)
}
