//! `inspect` and `info`: look before you pull. Only manifests and configs are fetched, plus,
//! for `info` on a modelcar, the model card's own small layer.

use crate::error::{Error, Result};
use crate::fetch::{self, Fetched, Source, Src};
use crate::oci::Descriptor;
use serde_json::{json, Value};
use std::io::Read;

use crate::formats::KIT_CONFIG as MT_KITOPS_CONFIG;
const CARD_MAX: u64 = 1 << 20;

fn open(src_s: &str, insecure: bool) -> Result<(Src, Source, Fetched)> {
    let src = Src::parse(src_s)?;
    let source = Source::open(&src, insecure)?;
    let root = source.root(&src)?;
    Ok((src, source, root))
}

fn children(source: &Source, root: &Fetched) -> Result<Vec<(Descriptor, Fetched)>> {
    if !root.is_index() {
        return Ok(Vec::new());
    }
    let idx = root.json()?;
    let mut out = Vec::new();
    for m in idx["manifests"].as_array().cloned().unwrap_or_default() {
        let d: Descriptor =
            serde_json::from_value(m).map_err(|e| Error::msg(format!("index entry: {e}")))?;
        let f = source.by_descriptor(&d)?;
        out.push((d, f));
    }
    Ok(out)
}

fn annotations(v: &Value, indent: &str, out: &mut String) {
    if let Some(a) = v.as_object() {
        for (k, val) in a {
            let s = val
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| val.to_string());
            out.push_str(&format!("{indent}{k}: {s}\n"));
        }
    }
}

fn manifest_text(m: &Value, indent: &str, out: &mut String) {
    let c = &m["config"];
    out.push_str(&format!(
        "{indent}config  {}  {}  {} bytes\n",
        c["mediaType"].as_str().unwrap_or("?"),
        c["digest"].as_str().unwrap_or("?"),
        c["size"]
    ));
    let layers = m["layers"].as_array().cloned().unwrap_or_default();
    let total: u64 = layers.iter().filter_map(|l| l["size"].as_u64()).sum();
    out.push_str(&format!(
        "{indent}layers  {} ({total} bytes)\n",
        layers.len()
    ));
    for l in &layers {
        out.push_str(&format!(
            "{indent}  {}  {}  {} bytes\n",
            l["mediaType"].as_str().unwrap_or("?"),
            l["digest"].as_str().unwrap_or("?"),
            l["size"]
        ));
        annotations(&l["annotations"], &format!("{indent}    "), out);
    }
    if m["annotations"].is_object() {
        out.push_str(&format!("{indent}annotations\n"));
        annotations(&m["annotations"], &format!("{indent}  "), out);
    }
}

pub fn inspect(src_s: &str, as_json: bool, insecure: bool) -> Result<()> {
    let (src, source, root) = open(src_s, insecure)?;
    let kids = children(&source, &root)?;
    let rv = root.json()?;
    if as_json {
        let manifests: Vec<Value> = kids
            .iter()
            .map(|(d, f)| json!({"descriptor": d, "manifest": f.json().unwrap_or(Value::Null)}))
            .collect();
        let doc = json!({
            "reference": src.to_string(),
            "digest": root.digest,
            "mediaType": root.media_type,
            "size": root.bytes.len(),
            "document": rv,
            "manifests": manifests,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&doc).map_err(|e| Error::msg(e.to_string()))?
        );
        return Ok(());
    }
    let mut out = format!(
        "{src}\n  digest     {}\n  mediaType  {}\n  size       {}\n",
        root.digest,
        root.media_type,
        root.bytes.len()
    );
    if root.is_index() {
        if rv["annotations"].is_object() {
            out.push_str("  annotations\n");
            annotations(&rv["annotations"], "    ", &mut out);
        }
        out.push_str(&format!("  manifests  {}\n", kids.len()));
        for (d, f) in &kids {
            let p = d
                .platform
                .as_ref()
                .map(|p| {
                    format!(
                        "{}/{}{}",
                        p.os,
                        p.architecture,
                        p.variant
                            .as_ref()
                            .map(|v| format!("/{v}"))
                            .unwrap_or_default()
                    )
                })
                .unwrap_or_else(|| "(no platform)".to_string());
            out.push_str(&format!(
                "  - {p}  {}  {}  {} bytes\n",
                d.media_type, d.digest, d.size
            ));
            manifest_text(&f.json()?, "      ", &mut out);
        }
    } else {
        manifest_text(&rv, "  ", &mut out);
    }
    print!("{out}");
    Ok(())
}

/// The manifest for this machine's platform (or the first one) of an index.
fn one_manifest(source: &Source, root: Fetched) -> Result<Fetched> {
    if !root.is_index() {
        return Ok(root);
    }
    let idx = root.json()?;
    let d = match fetch::pick_platform(&idx, fetch::host_arch()) {
        Ok(d) => d,
        Err(_) => serde_json::from_value(idx["manifests"][0].clone())
            .map_err(|_| Error::msg("the image index is empty"))?,
    };
    source.by_descriptor(&d)
}

pub fn info(src_s: &str, insecure: bool) -> Result<()> {
    let (src, source, root) = open(src_s, insecure)?;
    let index_ann = if root.is_index() {
        root.json()?["annotations"].clone()
    } else {
        Value::Null
    };
    let m = one_manifest(&source, root)?.json()?;
    let cd: Descriptor = serde_json::from_value(m["config"].clone())
        .map_err(|e| Error::msg(format!("{src}: manifest config: {e}")))?;
    if cd.media_type == crate::formats::MP_CONFIG {
        // A ModelPack: kit's Kitfile annotation when there is one, else its own config.
        let doc: Value = match m["annotations"][crate::formats::KIT_ANN_KITFILE].as_str() {
            Some(t) => serde_json::from_str(t)
                .map_err(|e| Error::msg(format!("{src}: Kitfile annotation: {e}")))?,
            None => serde_json::from_slice(&source.small_blob(&cd)?)
                .map_err(|e| Error::msg(format!("{src}: ModelPack config: {e}")))?,
        };
        print!("{}", yaml(&doc)?);
        return Ok(());
    }
    if cd.media_type == MT_KITOPS_CONFIG {
        // A ModelKit's config is its Kitfile, as JSON.
        let cfg: Value = serde_json::from_slice(&source.small_blob(&cd)?)
            .map_err(|e| Error::msg(format!("{src}: Kitfile config: {e}")))?;
        print!("{}", yaml(&cfg)?);
        return Ok(());
    }
    let ann = |k: &str| {
        m["annotations"][k]
            .as_str()
            .or_else(|| index_ann[k].as_str())
            .map(str::to_string)
    };
    println!("{src}");
    for (label, k) in [
        ("title", "org.opencontainers.image.title"),
        ("source", "org.opencontainers.image.source"),
        ("description", "org.opencontainers.image.description"),
        ("version", "org.opencontainers.image.version"),
        ("created", "org.opencontainers.image.created"),
        ("licenses", "org.opencontainers.image.licenses"),
    ] {
        if let Some(v) = ann(k) {
            println!("{label}: {v}");
        }
    }
    let layers: Vec<Descriptor> = serde_json::from_value(m["layers"].clone()).unwrap_or_default();
    let total: u64 = layers.iter().map(|l| l.size).sum();
    println!("layers: {} ({total} bytes)", layers.len());
    let card_digest = ann(crate::oci::ANN_OLOT_MODELCARD);
    let card = layers.iter().find(|l| {
        l.annotations.contains_key(crate::oci::ANN_MODELCARD)
            || card_digest.as_deref() == Some(l.digest.as_str())
    });
    match card {
        Some(l) if l.size <= CARD_MAX => {
            let text = card_text(&source, l)?;
            println!("model card ({}):\n{text}", l.digest);
        }
        Some(l) => println!(
            "model card: layer {} ({} bytes, not fetched)",
            l.digest, l.size
        ),
        None => println!("model card: none marked"),
    }
    Ok(())
}

/// YAML, as `kit info` prints a Kitfile (and as `unpack` writes it).
fn yaml(v: &Value) -> Result<String> {
    serde_yaml::to_string(v).map_err(|e| Error::msg(format!("Kitfile: {e}")))
}

/// The one regular file of a model card layer, checked against the layer digest.
fn card_text(source: &Source, l: &Descriptor) -> Result<String> {
    let blob = source.small_blob(l)?;
    let comp = crate::unpack::compression_of(&l.media_type)
        .ok_or_else(|| Error::msg(format!("model card layer: media type {}", l.media_type)))?;
    let reader: Box<dyn Read> = match comp {
        crate::unpack::Compression::None => Box::new(&blob[..]),
        crate::unpack::Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(&blob[..])),
        crate::unpack::Compression::Zstd => Box::new(
            zstd::stream::read::Decoder::new(&blob[..]).map_err(|e| Error::msg(e.to_string()))?,
        ),
    };
    let mut ar = ::tar::Archive::new(reader.take(4 * CARD_MAX));
    for e in ar
        .entries()
        .map_err(|e| Error::msg(format!("model card layer: {e}")))?
    {
        let mut e = e.map_err(|e| Error::msg(format!("model card layer: {e}")))?;
        if e.header().entry_type() == ::tar::EntryType::Regular {
            let mut s = String::new();
            (&mut e)
                .take(CARD_MAX)
                .read_to_string(&mut s)
                .map_err(|e| Error::msg(format!("model card: {e}")))?;
            return Ok(s);
        }
    }
    Err(Error::msg("model card layer holds no file"))
}
