//! Media types of KitOps ModelKits (kitops `pkg/lib/constants/mediaType.go`,
//! `pkg/artifact/spec.md`) and CNCF ModelPacks (modelpack/model-spec `specs-go/v1`), and
//! which Kitfile entry kind each layer type is.

use crate::kit::Kind;

pub const KIT_CONFIG: &str = "application/vnd.kitops.modelkit.config.v1+json";
/// Manifest annotation holding the Kitfile as JSON (kit writes it on ModelPacks).
pub const KIT_ANN_KITFILE: &str = "ml.kitops.modelkit.kitfile";

pub const MP_ARTIFACT: &str = "application/vnd.cncf.model.manifest.v1+json";
pub const MP_CONFIG: &str = "application/vnd.cncf.model.config.v1+json";
/// Layer annotation: the file or directory path the layer holds.
pub const MP_ANN_FILEPATH: &str = "org.cncf.model.filepath";

/// Annotations of a converted modelcar naming its source.
pub const ANN_SOURCE: &str = "io.github.modelcar-base.source";
pub const ANN_SOURCE_DIGEST: &str = "io.github.modelcar-base.source.digest";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    ModelKit,
    ModelPack,
}

/// A model layer's type, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerType {
    pub format: Format,
    pub kind: Kind,
    pub compression: Compression,
    /// ModelPack `.raw`: the blob is the file itself, not a tar.
    pub raw: bool,
}

fn compression(suffix: &str) -> Option<Compression> {
    match suffix {
        "" => Some(Compression::None),
        "+gzip" => Some(Compression::Gzip),
        "+zstd" => Some(Compression::Zstd),
        _ => None,
    }
}

impl LayerType {
    pub fn parse(mt: &str) -> Option<LayerType> {
        if let Some(rest) = mt.strip_prefix("application/vnd.kitops.modelkit.") {
            let (base, tail) = rest.split_once(".v1.tar")?;
            let kind = match base {
                "model" => Kind::Model,
                "modelpart" => Kind::ModelPart,
                "dataset" => Kind::Dataset,
                "code" => Kind::Code,
                "docs" => Kind::Docs,
                _ => return None,
            };
            return Some(LayerType {
                format: Format::ModelKit,
                kind,
                compression: compression(tail)?,
                raw: false,
            });
        }
        let rest = mt.strip_prefix("application/vnd.cncf.model.")?;
        let (base, tail) = rest.split_once(".v1.")?;
        let kind = match base {
            "weight" => Kind::Model,
            "weight.config" => Kind::ModelPart,
            "dataset" => Kind::Dataset,
            "code" => Kind::Code,
            "doc" => Kind::Docs,
            _ => return None,
        };
        let (raw, compression) = match tail {
            "raw" => (true, Compression::None),
            t => (false, compression(t.strip_prefix("tar")?)?),
        };
        Some(LayerType {
            format: Format::ModelPack,
            kind,
            compression,
            raw,
        })
    }

    /// The media type string (uncompressed tar for what we write).
    pub fn media_type(format: Format, kind: Kind) -> String {
        match format {
            Format::ModelKit => {
                format!("application/vnd.kitops.modelkit.{}.v1.tar", kind.kit_base())
            }
            Format::ModelPack => {
                let base = match kind {
                    Kind::Model => "weight",
                    Kind::ModelPart => "weight.config",
                    Kind::Dataset => "dataset",
                    Kind::Code => "code",
                    Kind::Docs => "doc",
                };
                format!("application/vnd.cncf.model.{base}.v1.tar")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for f in [Format::ModelKit, Format::ModelPack] {
            for k in [
                Kind::Model,
                Kind::ModelPart,
                Kind::Code,
                Kind::Dataset,
                Kind::Docs,
            ] {
                let t = LayerType::parse(&LayerType::media_type(f, k)).unwrap();
                assert_eq!(
                    (t.format, t.kind, t.compression, t.raw),
                    (f, k, Compression::None, false)
                );
            }
        }
        let t = LayerType::parse("application/vnd.kitops.modelkit.dataset.v1.tar+gzip").unwrap();
        assert_eq!((t.kind, t.compression), (Kind::Dataset, Compression::Gzip));
        let t = LayerType::parse("application/vnd.cncf.model.weight.v1.raw").unwrap();
        assert!(t.raw && t.kind == Kind::Model);
        let t = LayerType::parse("application/vnd.cncf.model.doc.v1.tar+zstd").unwrap();
        assert_eq!((t.kind, t.compression), (Kind::Docs, Compression::Zstd));
        assert!(LayerType::parse("application/vnd.oci.image.layer.v1.tar").is_none());
        assert!(LayerType::parse("application/vnd.kitops.modelkit.config.v1+json").is_none());
        assert!(LayerType::parse("application/vnd.cncf.model.weight.v1.tar+lz4").is_none());
    }
}
