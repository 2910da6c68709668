//! The command line: `modelcar-pack MODEL_PATH... [OPTIONS]` packs (as `modelcar-pack pack`
//! does); other jobs are subcommands. A first argument that names a subcommand is that
//! subcommand, so a model folder called like one is given as `./NAME`.

use crate::blobwriter::Compress;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

const EXAMPLES: &str = "Examples:
  modelcar-pack ./my-model -o oci:./out:v1
  modelcar-pack ./my-model --push registry.example.com/models/my-model:v1
  modelcar-pack ./my-model --base oci:./ubi-layout:latest -o oci:./out:v1
  modelcar-pack ./kit-project -o oci:./out:v1             (a directory with a Kitfile)
  modelcar-pack ./kit-project --format modelpack -o oci:./mp:v1
  modelcar-pack kit://registry.example.com/team/model:v1 -o oci:./out:v1
  modelcar-pack gc oci:./out

Exit status: 0 ok, 1 error, 2 usage, 130 SIGINT, 143 SIGTERM (the layout is then left as it was).";

#[derive(Parser, Debug)]
#[command(
    version,
    about = "Turn model files into a multi-arch KServe modelcar (OCI image layout or registry push), no container engine needed",
    long_about = "Turn model files into a multi-arch KServe modelcar: the modelcar-base sidecar (embedded, for \
linux/amd64, arm64, ppc64le and s390x) plus the model under /models, as an OCI image layout and/or pushed \
to a registry. A directory's contents go under /models with their relative paths; a file goes to \
/models/NAME. One uncompressed tar layer per large file, small files together, the model card \
(README.md) alone and annotated. Same files, same digests.",
    after_help = EXAMPLES,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Without a subcommand: pack.
    #[command(flatten)]
    pub pack: PackArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Pack model files into a modelcar (the default when no subcommand is given).
    #[command(after_help = EXAMPLES)]
    Pack(PackArgs),
    /// Remove what killed runs left in an OCI layout: temp files, and the blobs they added
    /// that no tag uses. Waits until no other run writes the layout.
    Gc(GcArgs),
    /// unpack, sign, verify, inspect, info (cmd/unpack.rs).
    #[command(flatten)]
    Read(crate::cmd::unpack::ReadCmd),
}

impl Cli {
    /// The subcommand to run; none given means pack.
    pub fn into_command(self) -> Command {
        self.command.unwrap_or(Command::Pack(self.pack))
    }
}

#[derive(Args, Debug)]
pub struct PackArgs {
    /// Model files or directories; or one directory with a Kitfile; or a ModelKit or
    /// ModelPack to convert: kit://REGISTRY/REPO:TAG or oci:DIR[:TAG].
    #[arg(required = true, value_name = "MODEL_PATH")]
    pub models: Vec<PathBuf>,

    /// The Kitfile (default: Kitfile, kitfile or .kitfile in the MODEL_PATH directory).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub kitfile: Option<PathBuf>,

    /// Which Kitfile entries go in, in kit's syntax: TYPE[,TYPE...][:NAME_OR_PATH,...], TYPE
    /// one of model, datasets, code, docs, kitfile. Repeatable. Default: model,docs.
    #[arg(long, value_name = "FILTER")]
    pub filter: Vec<String>,

    /// What to write: a modelcar, or (from a Kitfile) a KitOps ModelKit or a CNCF ModelPack.
    #[arg(long, value_enum, default_value = "modelcar")]
    pub format: crate::inputs::OutFormat,

    /// Write an OCI image layout (created, or an existing layout to which TAG is added;
    /// TAG defaults to "latest").
    #[arg(short, long, value_name = "oci:DIR[:TAG]")]
    pub output: Option<String>,

    /// Upload to a registry (OCI distribution API), e.g. quay.io/me/model:v1. Credentials come
    /// from REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json,
    /// ~/.config/containers/auth.json or ~/.docker/config.json.
    #[arg(long, value_name = "REGISTRY/REPO:TAG")]
    pub push: Option<String>,

    /// Allow plain HTTP to the registry.
    #[arg(long)]
    pub insecure: bool,

    /// Put the model on this image (every platform of its index) instead of the embedded base.
    #[arg(long, value_name = "oci:DIR[:TAG]")]
    pub base: Option<String>,

    /// Compress the model layers. KServe's fetch mode (oci+fetch://, storage initializer)
    /// refuses zstd layers; modelcar mode reads whatever the container runtime pulls.
    /// Compression disables the reflink fast path.
    #[arg(long, value_enum, default_value = "none")]
    pub compress: Compress,

    /// Files of at least this many bytes get a layer of their own.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    pub small_file_max: u64,

    /// Layers written at the same time (default: the number of CPUs, at most 4), and blobs
    /// uploaded at the same time by --push (default: 4).
    #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(usize))]
    pub jobs: Option<usize>,

    /// Title annotation (default: name of the first MODEL_PATH).
    #[arg(long)]
    pub title: Option<String>,

    /// No progress bar and no summary.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct GcArgs {
    /// The layout.
    #[arg(value_name = "oci:DIR")]
    pub layout: String,

    /// Also remove every other blob that no tag uses (for example those of a tag that was
    /// replaced).
    #[arg(long)]
    pub unreferenced: bool,

    /// No summary.
    #[arg(short, long)]
    pub quiet: bool,
}
