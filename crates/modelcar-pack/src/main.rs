//! modelcar-pack: model files -> a multi-arch KServe modelcar (OCI layout and/or registry),
//! with the modelcar-base sidecar embedded, and no container engine.

mod auth;
mod base;
mod blobwriter;
mod cleanup;
mod cli;
mod cmd;
mod error;
mod hash;
mod layers;
mod layout;
mod lock;
mod oci;
mod pack;
mod reflink;
mod registry;
mod run;
mod tar;
mod walk;

use clap::Parser;

fn main() {
    let command = cli::Cli::parse().into_command();
    let result = cleanup::install().and_then(|()| cmd::run(command));
    if let Err(e) = result {
        cleanup::undo();
        eprintln!("modelcar-pack: {e}");
        std::process::exit(e.exit_code());
    }
}
