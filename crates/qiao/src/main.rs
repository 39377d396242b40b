//! `qiao`: the server and its command-line client in one binary.

mod account;
mod backup;
mod chat;
mod cli;
mod client;
mod merchant;
mod pay;
mod texts;

fn main() -> anyhow::Result<()> {
    cli::main()
}
