//! modelcar-pack: model files -> a multi-arch KServe modelcar (OCI layout and/or registry),
//! with the modelcar-base sidecar embedded, and no container engine.

mod auth;
mod base;
mod blobwriter;
mod challenge;
mod cleanup;
mod cli;
mod cmd;
mod convert;
mod credhelper;
mod error;
mod fetch;
mod formats;
mod hash;
mod http;
mod inputs;
mod inspect;
mod keyless;
mod kit;
mod layers;
mod layout;
mod lock;
mod oci;
mod pack;
mod pool;
mod reflink;
mod registry;
mod run;
mod sign;
mod tar;
mod tarread;
mod tls;
mod unpack;
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
