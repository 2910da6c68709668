//! What the MODEL_PATH arguments are: model files and directories, a Kitfile's context
//! directory (a Kitfile in it, or `-f`), or a ModelKit/ModelPack to convert (`kit://REF`,
//! `oci:DIR[:TAG]`); and the model layers each one gives.

use crate::blobwriter::Compress;
use crate::convert::{self, Source};
use crate::error::{Error, Result};
use crate::formats::Format;
use crate::kit::filter::Filter;
use crate::kit::input::{self, KitInput};
use crate::layers::{self, Written};
use crate::layout::Layout;
use crate::registry;
use crate::walk::{self, Item, Tree};
use indicatif::ProgressBar;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OutFormat {
    Modelcar,
    Modelkit,
    Modelpack,
}

pub enum Input {
    Files(Tree),
    Kit { kit: Box<KitInput>, tree: Tree },
    Convert(Source),
}

/// What the model layers came out as.
pub struct Model {
    pub written: Vec<Written>,
    pub total: u64,
    pub title: Option<String>,
    pub annotations: BTreeMap<String, String>,
}

pub fn filters(args: &[String]) -> Result<Vec<Filter>> {
    if args.is_empty() {
        return Ok(Filter::default_for_modelcar());
    }
    args.iter().map(|a| Filter::parse(a)).collect()
}

pub fn resolve(
    models: &[PathBuf],
    kitfile: Option<&Path>,
    filters: &[Filter],
    insecure: bool,
) -> Result<Input> {
    let first = models[0].to_string_lossy().into_owned();
    let source = first.starts_with("kit://") || first.starts_with("oci:");
    if (source || kitfile.is_some()) && models.len() != 1 {
        return Err(Error::msg(
            "a Kitfile directory, kit://REF or oci:DIR[:TAG] is the only MODEL_PATH",
        ));
    }
    if let Some(r) = first.strip_prefix("kit://") {
        let reference = registry::Reference::parse(r)
            .map_err(|_| Error::msg(format!("kit://REF wants REGISTRY/REPO:TAG, got {first:?}")))?;
        let client = registry::connect(&reference, insecure)?;
        return Ok(Input::Convert(Source::Registry(client)));
    }
    if first.starts_with("oci:") {
        let r = crate::layout::LayoutRef::parse(&first, "MODEL_PATH")?;
        return Ok(Input::Convert(Source::Layout {
            layout: Layout::open(&r.dir)?,
            tag: r.tag,
        }));
    }
    let dir = &models[0];
    let kit_dir = models.len() == 1 && dir.is_dir() && crate::kit::find_in(dir).is_some();
    if kitfile.is_some() || kit_dir {
        if !dir.is_dir() {
            return Err(Error::msg(format!(
                "{}: with -f, MODEL_PATH is the Kitfile's context directory",
                dir.display()
            )));
        }
        let kit = input::load(dir, kitfile)?;
        let tree = kit.selected(filters)?;
        return Ok(Input::Kit {
            kit: Box::new(kit),
            tree,
        });
    }
    Ok(Input::Files(walk::collect(models)?))
}

fn size(tree: &Tree) -> u64 {
    tree.values()
        .map(|i| match i {
            Item::File { size, .. } => *size,
            _ => 0,
        })
        .sum()
}

pub struct Options<'a> {
    pub filters: &'a [Filter],
    pub compress: Compress,
    pub created: u64,
    pub small_max: u64,
    pub jobs: usize,
}

/// Writes the model layers of a modelcar.
pub fn model_layers(
    input: &Input,
    layout: &Layout,
    o: &Options,
    bar: &ProgressBar,
) -> Result<Model> {
    match input {
        Input::Files(tree) => {
            bar.set_length(size(tree));
            let plans = layers::plan(tree, o.small_max);
            Ok(Model {
                written: layers::write_all(layout, &plans, o.compress, o.created, bar, o.jobs)?,
                total: size(tree),
                title: None,
                annotations: BTreeMap::new(),
            })
        }
        Input::Kit { kit, tree } => {
            bar.set_length(size(tree));
            let card = kit.card(tree);
            let plans = input::plan_with_card(tree, o.small_max, card.as_deref());
            let written = layers::write_all(layout, &plans, o.compress, o.created, bar, o.jobs)?;
            let kf = &kit.kitfile;
            Ok(Model {
                written,
                total: size(tree),
                title: (!kf.package.name.is_empty()).then(|| kf.package.name.clone()),
                annotations: kf
                    .annotations()
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
            })
        }
        Input::Convert(src) => {
            let c = convert::convert(
                src,
                layout,
                &convert::Options {
                    filters: o.filters,
                    compress: o.compress,
                    mtime: o.created,
                    small_max: o.small_max,
                },
                bar,
            )?;
            Ok(Model {
                written: c.layers,
                total: c.total,
                title: c.title,
                annotations: c.annotations,
            })
        }
    }
}

/// `--format modelkit|modelpack`: writes the manifest into `layout`, returns its descriptor.
pub fn write_kit(
    input: &Input,
    format: OutFormat,
    layout: &Layout,
    o: &Options,
    bar: &ProgressBar,
) -> Result<crate::oci::Descriptor> {
    let Input::Kit { kit, .. } = input else {
        return Err(Error::msg(
            "--format modelkit|modelpack needs a Kitfile input (a directory with a Kitfile, or -f)",
        ));
    };
    let f = match format {
        OutFormat::Modelkit => Format::ModelKit,
        _ => Format::ModelPack,
    };
    let total: u64 = kit.entries.iter().map(|(_, t)| size(t)).sum();
    bar.set_length(total);
    let w = crate::kit::write::write(kit, f, layout, o.created, o.small_max, bar)?;
    Ok(w.manifest)
}
