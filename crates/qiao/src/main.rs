//! `qiao`: the server and its command-line client in one binary.

mod cli;
mod pay;

fn main() -> anyhow::Result<()> {
    cli::main()
}
