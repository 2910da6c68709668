//! Puts the model layers on every platform of a base (the embedded one, or `--base`) and
//! writes configs, manifests and the image index into the layout.

use crate::base;
use crate::error::{Context, Error, Result};
use crate::layers::Written;
use crate::layout::Layout;
use crate::oci::{
    self, from_json, rfc3339, to_json, Descriptor, Extra, History, ImageConfig, Index, Manifest,
    Platform, MT_CONFIG, MT_INDEX, MT_MANIFEST,
};
use std::collections::BTreeMap;

/// One platform image of the base before the model goes on.
pub struct BaseImage {
    pub platform: Platform,
    pub config: ImageConfig,
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
    if top.is_index() {
        let index: Index = from_json(&src.read_blob(&top.digest)?, &top.digest)?;
        // Attestation manifests (platform unknown/unknown) describe the old images: drop them.
        manifests.extend(
            index
                .manifests
                .into_iter()
                .filter(|d| d.platform.as_ref().is_none_or(|p| p.os != "unknown")),
        );
    } else {
        manifests.push(top);
    }
    let mut out = Vec::new();
    for d in manifests {
        let m: Manifest = from_json(&src.read_blob(&d.digest)?, &d.digest)?;
        let config: ImageConfig = from_json(&src.read_blob(&m.config.digest)?, &m.config.digest)?;
        let mut layers = Vec::new();
        for mut ld in m.layers {
            ld.media_type = oci_layer_type(&ld.media_type);
            copy_blob(src, layout, &ld.digest)?;
            layers.push(ld);
        }
        let platform = d.platform.clone().unwrap_or_else(|| Platform {
            architecture: config
                .architecture
                .clone()
                .unwrap_or_else(|| "amd64".to_string()),
            os: config.os.clone().unwrap_or_else(|| "linux".to_string()),
            variant: config.variant.clone(),
            extra: Extra::new(),
        });
        let manifest_annotations =
            BTreeMap::from([(oci::ANN_BASE_DIGEST.to_string(), d.digest.clone())]);
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
        config
            .rootfs
            .diff_ids
            .extend(model.iter().map(|w| w.diff_id.clone()));
        config.history.extend(model.iter().map(|w| History {
            created: Some(ts.clone()),
            created_by: Some(w.created_by.clone()),
            extra: Extra::new(),
        }));
        config.created = Some(ts.clone());
        let cdesc = layout.put_bytes(MT_CONFIG, &to_json(&config)?)?;

        let mut layers = b.layers;
        layers.extend(model.iter().map(|w| w.desc.clone()));
        let mut manifest = Manifest::new(cdesc, layers);
        manifest.annotations = b.manifest_annotations;
        manifest
            .annotations
            .insert(oci::ANN_CREATED.to_string(), ts.clone());
        manifest.annotations.extend(meta.annotations.clone());
        manifest
            .annotations
            .insert(oci::ANN_TITLE.to_string(), meta.title.clone());
        if let Some(card) = model
            .iter()
            .find(|w| w.desc.annotations.contains_key(oci::ANN_MODELCARD))
        {
            manifest.annotations.insert(
                oci::ANN_OLOT_MODELCARD.to_string(),
                card.desc.digest.clone(),
            );
        }
        let mut mdesc = layout.put_bytes(MT_MANIFEST, &to_json(&manifest)?)?;
        mdesc.platform = Some(b.platform);
        entries.push(mdesc);
    }
    let mut index = Index::new(entries);
    index.annotations = meta.annotations.clone();
    index.annotations.insert(oci::ANN_CREATED.to_string(), ts);
    index
        .annotations
        .insert(oci::ANN_TITLE.to_string(), meta.title.clone());
    layout.put_bytes(MT_INDEX, &to_json(&index)?)
}
