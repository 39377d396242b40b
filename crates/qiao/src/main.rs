//! `qiao`: the server and its command-line client in one binary.

mod cli;

fn main() -> anyhow::Result<()> {
    cli::main()
}
