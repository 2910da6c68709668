//! One module per subcommand: each resolves its arguments into a plan first (every usage
//! error found before anything is written), then carries the plan out.

pub mod gc;
mod kitflags;
pub mod pack;
pub mod unpack;

use crate::cli::Command;
use crate::error::Result;

pub fn run(cmd: Command) -> Result<()> {
    match cmd {
        Command::Pack(args) => pack::Plan::resolve(&args)?.run(),
        Command::Gc(args) => gc::Plan::resolve(&args)?.run(),
        Command::Read(c) => unpack::run(c),
    }
}
